// orchestrator process entry: configuration from the environment, clean stop on SIGINT/SIGTERM.
import { runMain } from '../kit/main.ts';
import { loadOrchestratorConfig } from './config.ts';
import { startOrchestrator } from './server.ts';

runMain('orchestrator', () => startOrchestrator(loadOrchestratorConfig(process.env)));
