/**
 * Closes the stores still open when the process calls `process.exit()`. A natural exit, or
 * the end of a worker thread, is covered by the addon's env cleanup hook, but
 * `process.exit()` on the main thread skips those hooks, which would leave the WAL
 * un-checkpointed beside the database. Only weak references are kept, so a store that is
 * dropped without close() can still be garbage-collected (its finalizer closes it).
 */
interface Closable {
  close(): void;
}

const open = new Set<WeakRef<Closable>>();
const forget = new FinalizationRegistry<WeakRef<Closable>>((ref) => open.delete(ref));
let listening = false;

function closeAll(): void {
  for (const ref of open) {
    try {
      ref.deref()?.close();
    } catch {
      // exiting anyway: nothing useful to do with the error
    }
  }
  open.clear();
}

/** Registers `target` to be closed at process.exit(); returns the function that unregisters it. */
export function closeOnExit(target: Closable): () => void {
  if (!listening) {
    process.once('exit', closeAll);
    listening = true;
  }
  const ref = new WeakRef(target);
  open.add(ref);
  forget.register(target, ref, ref);
  return () => {
    open.delete(ref);
    forget.unregister(ref);
  };
}
