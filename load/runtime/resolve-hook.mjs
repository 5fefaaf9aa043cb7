// Node module hooks (module.register) for a k6 script: the k6 specifiers resolve to this runtime's modules, and a
// script file may import only those and relative files, as under k6. Plain JS: it runs on Node's loader thread
// before any TypeScript support is in place for it.
const K6 = { k6: 'k6.ts', 'k6/http': 'http.ts', 'k6/metrics': 'metrics.ts', 'k6/execution': 'execution.ts', 'k6/timers': 'timers.ts' };
const base = new URL('./k6/', import.meta.url);
/** URLs of the script and of every file it reached through relative imports. */
const scriptFiles = new Set();

export function initialize(data) {
  scriptFiles.add(data.entry);
}

export async function resolve(specifier, context, next) {
  // Through the rest of the chain, so the TypeScript loader knows the file as its own.
  if (Object.hasOwn(K6, specifier)) return next(new URL(K6[specifier], base).href, context);
  const fromScript = context.parentURL !== undefined && scriptFiles.has(context.parentURL);
  if (!fromScript) return next(specifier, context);
  if (!/^\.\.?\//.test(specifier)) {
    const what = specifier.startsWith('k6/') ? `${specifier} is a k6 module this runtime does not provide` : 'k6 cannot load Node built-ins or npm packages';
    throw new Error(`${context.parentURL} imports '${specifier}': a k6 script may import k6, k6/http, k6/metrics, k6/execution, k6/timers and relative files only (${what})`);
  }
  const resolved = await next(specifier, context);
  scriptFiles.add(resolved.url);
  return resolved;
}
