// One JSON request through k6's async HTTP API: explicit JSON headers, the request's name tag, timeout and expected statuses.
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import type { JSONObject } from 'k6';
import { config } from './env.ts';

export type Response = RefinedResponse<ResponseType | undefined>;

export interface RequestSpec {
  /** The request's `name` tag, so every sample of it is one series whatever the URL (e.g. /quotes/AAPL). */
  name: string;
  /** Statuses that count as expected in http_req_failed; default k6's 200..399. */
  expect?: number[];
  /** Bearer token for an admin route. */
  token?: string;
}

export interface JsonResponse {
  res: Response;
  /** The body when it is a JSON object, else {} (a non-JSON body then fails the checks instead of throwing). */
  body: JSONObject;
}

export const isObject = (v: unknown): v is JSONObject => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Sends body (if any) as JSON; k6 would form-encode a plain object. */
export async function request(method: string, url: string, body: unknown, spec: RequestSpec): Promise<JsonResponse> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (spec.token !== undefined) headers['Authorization'] = `Bearer ${spec.token}`;
  const res = await http.asyncRequest(method, url, body === undefined ? null : JSON.stringify(body), {
    headers,
    tags: { name: spec.name },
    timeout: config.requestTimeoutMs,
    ...(spec.expect ? { responseCallback: http.expectedStatuses(...spec.expect) } : {}),
  });
  let parsed: unknown;
  try {
    parsed = res.json();
  } catch {
    parsed = undefined;
  }
  return { res, body: isObject(parsed) ? parsed : {} };
}
