// fake-alpaca process entry: options from the environment, one "listening" line with both URLs, clean stop on signals.
import { runMain } from '../kit/main.ts';
import { loadFakeAlpacaConfig } from './config.ts';
import { startFakeAlpaca } from './server.ts';

runMain('fake-alpaca', async () => {
  const fake = await startFakeAlpaca(loadFakeAlpacaConfig(process.env));
  return { url: fake.url, extra: { adminUrl: fake.adminUrl, wsUrl: fake.wsUrl }, close: () => fake.close() };
});
