// The producer thread's entry. Keytrail runs its TypeScript sources directly, and a worker thread
// inherits neither tsx's hooks nor a test runner's transform, so it registers tsx (its own hooks
// for this thread) and then loads the real entry.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./worker.ts', import.meta.url).href);
