// One pino logger per service; tests pass level "silent".
import pino, { type Logger } from 'pino';

export function createLogger(service: string, level = 'info'): Logger {
  return pino({ name: service, level });
}
