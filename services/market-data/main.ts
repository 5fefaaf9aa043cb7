// market-data process entry: configuration from the environment, clean stop on SIGINT/SIGTERM.
import { runMain } from '../kit/main.ts';
import { loadMarketDataConfig } from './config.ts';
import { startMarketData } from './server.ts';

runMain('market-data', () => startMarketData(loadMarketDataConfig(process.env)));
