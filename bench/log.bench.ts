// npm run bench -- log [--storage sqlite|postgres] [options]: the transparency log under load, next to
// raw inserts into the same database in the same run. sqlite (the default): bench/log-sqlite.ts;
// postgres: bench/log-postgres.ts, against a PostgreSQL it starts. Each reads its own options.
import { takeStorage } from './log-storage-arg.ts';

const { storage, argv } = takeStorage(process.argv);
process.argv = argv;
await import(storage === 'postgres' ? './log-postgres.ts' : './log-sqlite.ts');
