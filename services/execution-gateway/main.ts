// Process entry point: execution gateway configured from the environment.
import { runMain } from '../kit/main.ts';
import { loadGatewayConfig } from './config.ts';
import { startExecutionGateway } from './server.ts';

runMain('execution-gateway', () => startExecutionGateway(loadGatewayConfig(process.env)));
