// This test's configuration, parsed from k6's __ENV once per VU in the init context (k6 evaluates modules once per VU).
import { loadConfig, type LoadConfig } from './config.ts';

/** Never mutated: iterations read it, nothing writes it. */
export const config: LoadConfig = loadConfig(__ENV);
