/**
 * The one way a test waits: poll a condition until it holds, failing after a deadline with what
 * it waited for and the last value seen. For conditions that need real time to pass, never a
 * fixed sleep in their place.
 */
export async function eventually<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, ms = 10_000, what = 'the condition', everyMs = 10): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** `eventually` for a yes-or-no check. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000, everyMs = 10): Promise<void> {
  await eventually(check, Boolean, ms, what, everyMs);
}

/** `eventually` for a probe that answers null until it has something. */
export async function present<T>(probe: () => Promise<T | null>, what: string, ms = 10_000): Promise<T> {
  return (await eventually(probe, (value) => value !== null, ms, what)) as T;
}
