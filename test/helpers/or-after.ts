// A promise or, if it has not settled by then, `otherwise` after `ms`: for a test that must tell "never"
// from "eventually" without hanging on it. The timer is cleared when the promise settles first.

export function orAfter<T, U>(promise: Promise<T>, ms: number, otherwise: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(otherwise), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
