// Process entry point of the signal service: config from the environment, then run until SIGINT/SIGTERM.
import { runMain } from '../kit/main.ts';
import { loadSignalConfig } from './config.ts';
import { startSignalService } from './server.ts';

runMain('signal-service', () => startSignalService(loadSignalConfig(process.env)));
