/** The error `promise` rejects with (chai's `to.throw` for an async call); fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection, the call resolved");
}
