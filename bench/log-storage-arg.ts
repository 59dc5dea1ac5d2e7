// `--storage sqlite|postgres` for `npm run bench -- log`: which storage bench runs, taken out of argv so
// the chosen one parses the rest with its own options.
export type BenchStorage = 'sqlite' | 'postgres';

const STORAGES: readonly string[] = ['sqlite', 'postgres'] satisfies BenchStorage[];

/** The storage named in `argv` (default sqlite), and argv without it. */
export function takeStorage(argv: readonly string[]): { storage: BenchStorage; argv: string[] } {
  const rest: string[] = [];
  let storage: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--storage') {
      storage = argv[++i];
      if (storage === undefined) throw new Error('--storage takes sqlite or postgres');
    } else if (arg.startsWith('--storage=')) storage = arg.slice('--storage='.length);
    else rest.push(arg);
  }
  storage ??= 'sqlite';
  if (!STORAGES.includes(storage))
    throw new Error(`--storage takes sqlite or postgres, not ${JSON.stringify(storage)}`);
  return { storage: storage as BenchStorage, argv: rest };
}
