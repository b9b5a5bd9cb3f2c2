/** A small HTTP client for the CLI commands that talk to a running ledger. */
export interface ClientReply {
  readonly status: number;
  readonly body: unknown;
}

export async function call(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<ClientReply> {
  let response: Response;
  try {
    response = await fetch(new URL(path, baseUrl), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new Error(
      `cannot reach the ledger at ${baseUrl} (${(error as Error).message}); start it with "make run" or set LEDGER_URL`,
    );
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: show it as it came.
  }
  return { status: response.status, body: parsed };
}
