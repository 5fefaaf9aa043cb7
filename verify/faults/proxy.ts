// Moved to stack/fault-proxy.ts; this re-export keeps verify/harness.ts compiling until its import is updated.
export * from '../../stack/fault-proxy.ts';
