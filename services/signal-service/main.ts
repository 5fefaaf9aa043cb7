// Process entry point of the signal service: config from the environment, then run until SIGINT/SIGTERM.
import { runMain } from '../kit/main.ts';
import { loadSignalConfig } from './config.ts';
import { startSignalService } from './server.ts';

// async so a config error becomes a rejection that runMain reports in one line (exit 2), not a stack trace.
runMain('signal-service', async () => startSignalService(loadSignalConfig(process.env)));
