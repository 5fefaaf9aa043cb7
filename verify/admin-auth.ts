// The harness's credentials for the services' mutating admin routes: the ADMIN_TOKEN the stack's services inherit from
// this environment (docs/contracts.md). Unset, loopback admin routes are open and nothing is sent.

export function adminAuthHeaders(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const token = env.ADMIN_TOKEN?.trim();
  return token ? { authorization: `Bearer ${token}` } : {};
}
