// A synthetic TUF repository for tests, built with @tufjs/models and keys made in the test. It
// writes the Sigstore CDN layout (`N.root.json`, `timestamp.json`, `<v>.snapshot.json`,
// `<v>.targets.json`, `targets/<sha256>.<name>`), so a verifier can be pointed at `dir` exactly as
// it would at a mirrored TUF repository, and tests can rotate roots, expire roles, sign below the
// threshold, or tamper with the written bytes.
//
// Signatures: ECDSA P-256 over the canonical JSON of `signed` (what `Metadata.sign` hands the
// signer), DER-encoded and hex, which is what @tufjs/models' `Key.verifySignature` checks with
// `crypto.verify`. Key IDs are sha256 over the canonical JSON of the key, as TUF specifies.
import { createHash, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import { Key, MetaFile, Metadata, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';

export type TufRole = 'root' | 'timestamp' | 'snapshot' | 'targets';
type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface KeyPair {
  readonly keyId: string;
  /** The public key as it appears in root.json. */
  readonly key: Key;
  readonly privateKey: KeyObject;
}

export interface TufRepoOptions {
  /** Where the CDN layout is written (created if missing). */
  dir: string;
  /** Base for the default expiries. Default: new Date(). */
  now?: Date;
  /** root.json `consistent_snapshot`. Default true. */
  consistentSnapshot?: boolean;
  /** Number of root keys. Default 1. */
  rootKeys?: number;
  /** Root threshold. Default 1. */
  rootThreshold?: number;
  /** Number of keys for the other top-level roles. Default 1 each. */
  keyCounts?: Partial<Record<Exclude<TufRole, 'root'>, number>>;
  /** Thresholds for the other top-level roles. Default 1 each. */
  thresholds?: Partial<Record<Exclude<TufRole, 'root'>, number>>;
  /** `keytype` of generated keys. Default 'ecdsa-sha2-nistp256' (Sigstore's root.json says 'ecdsa'). */
  keyType?: 'ecdsa-sha2-nistp256' | 'ecdsa';
}

export interface AddTargetOptions {
  /** Also list a sha512 hash (and write the sha512-prefixed file under consistent snapshot). */
  sha512?: boolean;
  /** `custom` field of the target entry (e.g. `{ sigstore: { usage: 'Fulcio', status: 'Active' } }`). */
  custom?: { [key: string]: JsonValue };
}

/** Signers for a new root: named presets, or how many of the old / new root keys sign. */
export type RootSigners = 'old+new' | 'new-only' | 'old-only' | { old: number; new: number };

export interface RotateRootOptions {
  /** How many fresh root keys replace the current ones. 0 keeps the current keys. Default: as many as now. */
  newRootKeys?: number;
  /** Root threshold of the new root. Default: the current threshold (capped at the key count). */
  threshold?: number;
  /** 'old+new' = all old and all new root keys sign; 'new-only'; 'old-only'; or explicit counts. */
  signWith: RootSigners;
  /** Expiry of the new root. Default: the current root expiry. */
  expires?: Date;
  /** Also replace the keys of these roles in the new root (re-sign them with `publish()` afterwards). */
  rotateRoles?: Array<Exclude<TufRole, 'root'>>;
}

export interface PublishOptions {
  /**
   * How many keys sign each role (the first N of that role's keys). Default: the role's threshold.
   * `root` is only re-signed (in place, same version) when given here.
   */
  signWith?: Partial<Record<TufRole, number>>;
  /** Which of targets / snapshot / timestamp get a new version. Default: all three. */
  bump?: Partial<Record<Exclude<TufRole, 'root'>, boolean>>;
}

export interface TufRepo {
  readonly dir: string;
  readonly consistentSnapshot: boolean;
  /** Current keys of each role (root keys change with rotateRoot). */
  rootKeys: KeyPair[];
  targetsKeys: KeyPair[];
  snapshotKeys: KeyPair[];
  timestampKeys: KeyPair[];
  /** Current (latest written) metadata of each role. */
  root: Metadata<Root>;
  timestamp: Metadata<Timestamp>;
  snapshot: Metadata<Snapshot>;
  targets: Metadata<Targets>;
  /** Every root version written, index 0 = version 1. */
  readonly roots: Metadata<Root>[];
  /** Path of 1.root.json: the pinned root a client starts from. */
  readonly initialRootPath: string;
  /** Writes the target file now; lists it in targets.signed.targets, signed at the next publish(). */
  addTarget(name: string, content: Uint8Array | string, options?: AddTargetOptions): void;
  /** Writes a new root version (N.root.json) at once. */
  rotateRoot(options: RotateRootOptions): void;
  /**
   * Root: re-signs and rewrites the current N.root.json at once (same version).
   * Other roles: used from the next publish() on.
   */
  setExpiry(role: TufRole, expires: Date): void;
  /** targets → snapshot → timestamp: bump versions, re-sign, write. */
  publish(options?: PublishOptions): Promise<void>;
  /** Re-sign the current in-memory metadata of a role without bumping it and rewrite its file. */
  resign(role: TufRole, keys?: number): void;
  /** Path (relative to dir) where a role's metadata of a version lives in this layout. */
  metadataPath(role: TufRole, version?: number): string;
  /** Relative paths of a target's file(s) (one per listed hash under consistent snapshot). */
  targetPaths(name: string): string[];
  /** Bytes of an earlier `<v>.snapshot.json` as written (for mix-and-match attacks). */
  snapshotFromVersion(version: number): Buffer;
  /** Bytes of an earlier `<v>.targets.json` as written. */
  targetsFromVersion(version: number): Buffer;
  readFile(rel: string): Buffer;
  writeFile(rel: string, data: Uint8Array | string): void;
}

const DAY_MS = 86_400_000;
const SPEC_VERSION = '1.0.31';

/** TUF dates: RFC 3339 UTC without fractional seconds. */
export function tufDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A fresh ECDSA P-256 key in TUF form. */
export function generateKeyPair(keyType: 'ecdsa-sha2-nistp256' | 'ecdsa' = 'ecdsa-sha2-nistp256'): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const json = { keytype: keyType, scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem } };
  const keyId = createHash('sha256').update(canonicalize(json)).digest('hex');
  const key = new Key({ keyID: keyId, keyType, scheme: 'ecdsa-sha2-nistp256', keyVal: { public: pem } });
  return { keyId, key, privateKey };
}

/** Signs `metadata` (appending) with each of `keys`. */
export function signMetadata(
  metadata: Metadata<Root | Timestamp | Snapshot | Targets>,
  keys: readonly KeyPair[],
): void {
  for (const k of keys) {
    metadata.sign(
      (data) => new Signature({ keyID: k.keyId, sig: cryptoSign('sha256', data, k.privateKey).toString('hex') }),
      true,
    );
  }
}

/** The exact bytes written for a metadata file. */
export function serializeMetadata(metadata: Metadata<Root | Timestamp | Snapshot | Targets>): Buffer {
  return Buffer.from(JSON.stringify(metadata.toJSON()));
}

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function take(keys: readonly KeyPair[], n: number, role: string): KeyPair[] {
  if (!Number.isInteger(n) || n < 0 || n > keys.length) {
    throw new RangeError(`${role}: cannot sign with ${n} of ${keys.length} keys`);
  }
  return keys.slice(0, n);
}

function generateKeys(n: number, keyType: 'ecdsa-sha2-nistp256' | 'ecdsa'): KeyPair[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`key count must be a positive integer, got ${n}`);
  return Array.from({ length: n }, () => generateKeyPair(keyType));
}

class TufRepoImpl implements TufRepo {
  readonly dir: string;
  readonly consistentSnapshot: boolean;
  readonly initialRootPath: string;
  readonly roots: Metadata<Root>[] = [];
  rootKeys: KeyPair[];
  targetsKeys: KeyPair[];
  snapshotKeys: KeyPair[];
  timestampKeys: KeyPair[];
  root!: Metadata<Root>;
  timestamp!: Metadata<Timestamp>;
  snapshot!: Metadata<Snapshot>;
  targets!: Metadata<Targets>;
  readonly #keyType: 'ecdsa-sha2-nistp256' | 'ecdsa';
  readonly #expiries: Record<TufRole, Date>;
  readonly #snapshotBytes = new Map<number, Buffer>();
  readonly #targetsBytes = new Map<number, Buffer>();
  /** Keys that signed each root version, so setExpiry('root') can re-sign it the same way. */
  readonly #rootSigners = new Map<number, KeyPair[]>();

  constructor(options: TufRepoOptions) {
    this.dir = options.dir;
    this.consistentSnapshot = options.consistentSnapshot ?? true;
    this.#keyType = options.keyType ?? 'ecdsa-sha2-nistp256';
    const now = (options.now ?? new Date()).getTime();
    this.#expiries = {
      root: new Date(now + 365 * DAY_MS),
      targets: new Date(now + 365 * DAY_MS),
      snapshot: new Date(now + 30 * DAY_MS),
      timestamp: new Date(now + 7 * DAY_MS),
    };
    this.initialRootPath = join(this.dir, '1.root.json');
    mkdirSync(this.dir, { recursive: true });

    this.rootKeys = generateKeys(options.rootKeys ?? 1, this.#keyType);
    this.targetsKeys = generateKeys(options.keyCounts?.targets ?? 1, this.#keyType);
    this.snapshotKeys = generateKeys(options.keyCounts?.snapshot ?? 1, this.#keyType);
    this.timestampKeys = generateKeys(options.keyCounts?.timestamp ?? 1, this.#keyType);

    const thresholds: Record<TufRole, number> = {
      root: options.rootThreshold ?? 1,
      targets: options.thresholds?.targets ?? 1,
      snapshot: options.thresholds?.snapshot ?? 1,
      timestamp: options.thresholds?.timestamp ?? 1,
    };
    const root = new Metadata(this.#buildRoot(1, this.#expiries.root, thresholds));
    this.#signAndWriteRoot(root, take(this.rootKeys, thresholds.root, 'root'));

    this.targets = new Metadata(
      new Targets({ version: 1, specVersion: SPEC_VERSION, expires: tufDate(this.#expiries.targets), targets: {} }),
    );
  }

  /** First publication: every role at version 1. */
  initialPublish(): void {
    this.#writeTargets(this.targets, this.#threshold('targets'));
    this.#writeSnapshot(this.#newSnapshot(1), this.#threshold('snapshot'));
    this.#writeTimestamp(this.#newTimestamp(1), this.#threshold('timestamp'));
  }

  // Role is not exported by @tufjs/models' index, so roots are built from their JSON form.
  #buildRoot(version: number, expires: Date, thresholds: Record<TufRole, number>): Root {
    const keys: { [keyId: string]: JsonValue } = {};
    const roles: { [role: string]: JsonValue } = {};
    for (const role of ['root', 'snapshot', 'targets', 'timestamp'] as const) {
      const pairs = this.#keysOf(role);
      for (const k of pairs) keys[k.keyId] = k.key.toJSON();
      roles[role] = { keyids: pairs.map((k) => k.keyId), threshold: thresholds[role] };
    }
    return Root.fromJSON({
      _type: 'root',
      spec_version: SPEC_VERSION,
      version,
      expires: tufDate(expires),
      keys,
      roles,
      consistent_snapshot: this.consistentSnapshot,
    });
  }

  #threshold(role: TufRole): number {
    const r = this.root.signed.roles[role];
    if (!r) throw new Error(`root has no ${role} role`);
    return r.threshold;
  }

  #keysOf(role: TufRole): KeyPair[] {
    switch (role) {
      case 'root':
        return this.rootKeys;
      case 'targets':
        return this.targetsKeys;
      case 'snapshot':
        return this.snapshotKeys;
      case 'timestamp':
        return this.timestampKeys;
    }
  }

  #currentThresholds(): Record<TufRole, number> {
    return {
      root: this.#threshold('root'),
      targets: this.#threshold('targets'),
      snapshot: this.#threshold('snapshot'),
      timestamp: this.#threshold('timestamp'),
    };
  }

  metadataPath(role: TufRole, version?: number): string {
    if (role === 'timestamp') return 'timestamp.json';
    const v = version ?? this[role].signed.version;
    if (role === 'root') return `${v}.root.json`;
    return this.consistentSnapshot ? `${v}.${role}.json` : `${role}.json`;
  }

  targetPaths(name: string): string[] {
    if (!this.consistentSnapshot) return [posix.join('targets', name)];
    const target = this.targets.signed.targets[name];
    if (!target) throw new Error(`no target ${name}`);
    const dir = posix.dirname(name);
    const base = posix.basename(name);
    return Object.values(target.hashes).map((h) => posix.join('targets', dir, `${h}.${base}`));
  }

  #signAndWriteRoot(root: Metadata<Root>, signers: readonly KeyPair[]): Buffer {
    const unique = [...new Map(signers.map((k) => [k.keyId, k])).values()];
    root.signatures = {};
    signMetadata(root, unique);
    this.#rootSigners.set(root.signed.version, unique);
    const bytes = serializeMetadata(root);
    this.writeFile(`${root.signed.version}.root.json`, bytes);
    this.roots[root.signed.version - 1] = root;
    this.root = root;
    return bytes;
  }

  #writeTargets(targets: Metadata<Targets>, keys: number): Buffer {
    signMetadata(targets, take(this.targetsKeys, keys, 'targets'));
    const bytes = serializeMetadata(targets);
    this.targets = targets;
    this.writeFile(this.metadataPath('targets', targets.signed.version), bytes);
    this.#targetsBytes.set(targets.signed.version, bytes);
    return bytes;
  }

  #writeSnapshot(snapshot: Metadata<Snapshot>, keys: number): Buffer {
    signMetadata(snapshot, take(this.snapshotKeys, keys, 'snapshot'));
    const bytes = serializeMetadata(snapshot);
    this.snapshot = snapshot;
    this.writeFile(this.metadataPath('snapshot', snapshot.signed.version), bytes);
    this.#snapshotBytes.set(snapshot.signed.version, bytes);
    return bytes;
  }

  #writeTimestamp(timestamp: Metadata<Timestamp>, keys: number): Buffer {
    signMetadata(timestamp, take(this.timestampKeys, keys, 'timestamp'));
    const bytes = serializeMetadata(timestamp);
    this.timestamp = timestamp;
    this.writeFile('timestamp.json', bytes);
    return bytes;
  }

  /** A snapshot listing the current targets metadata (version, length, sha256 of its written bytes). */
  #newSnapshot(version: number): Metadata<Snapshot> {
    const tv = this.targets.signed.version;
    const bytes = this.#targetsBytes.get(tv);
    if (!bytes) throw new Error(`targets version ${tv} was never written`);
    return new Metadata(
      new Snapshot({
        version,
        specVersion: SPEC_VERSION,
        expires: tufDate(this.#expiries.snapshot),
        meta: {
          'targets.json': new MetaFile({ version: tv, length: bytes.length, hashes: { sha256: sha256Hex(bytes) } }),
        },
      }),
    );
  }

  #newTimestamp(version: number): Metadata<Timestamp> {
    const sv = this.snapshot.signed.version;
    const bytes = this.#snapshotBytes.get(sv);
    if (!bytes) throw new Error(`snapshot version ${sv} was never written`);
    return new Metadata(
      new Timestamp({
        version,
        specVersion: SPEC_VERSION,
        expires: tufDate(this.#expiries.timestamp),
        snapshotMeta: new MetaFile({ version: sv, length: bytes.length, hashes: { sha256: sha256Hex(bytes) } }),
      }),
    );
  }

  addTarget(name: string, content: Uint8Array | string, options: AddTargetOptions = {}): void {
    const data = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
    const hashes: Record<string, string> = { sha256: sha256Hex(data) };
    if (options.sha512) hashes.sha512 = createHash('sha512').update(data).digest('hex');
    const target = new TargetFile({
      path: name,
      length: data.length,
      hashes,
      unrecognizedFields: options.custom ? { custom: options.custom } : {},
    });
    this.targets.signed.addTarget(target);
    for (const rel of this.targetPaths(name)) this.writeFile(rel, data);
  }

  rotateRoot(options: RotateRootOptions): void {
    const oldKeys = this.rootKeys;
    const count = options.newRootKeys ?? oldKeys.length;
    const newKeys = count === 0 ? oldKeys : generateKeys(count, this.#keyType);
    const thresholds = this.#currentThresholds();
    thresholds.root = options.threshold ?? Math.min(thresholds.root, newKeys.length);
    for (const role of options.rotateRoles ?? []) {
      const fresh = generateKeys(this.#keysOf(role).length, this.#keyType);
      if (role === 'targets') this.targetsKeys = fresh;
      else if (role === 'snapshot') this.snapshotKeys = fresh;
      else this.timestampKeys = fresh;
    }
    if (options.expires) this.#expiries.root = options.expires;
    this.rootKeys = newKeys;
    const root = new Metadata(this.#buildRoot(this.root.signed.version + 1, this.#expiries.root, thresholds));

    let signers: KeyPair[];
    const s = options.signWith;
    if (s === 'old+new') signers = [...oldKeys, ...newKeys];
    else if (s === 'new-only') signers = newKeys;
    else if (s === 'old-only') signers = oldKeys;
    else signers = [...take(oldKeys, s.old, 'old root'), ...take(newKeys, s.new, 'new root')];
    this.#signAndWriteRoot(root, signers);
  }

  setExpiry(role: TufRole, expires: Date): void {
    this.#expiries[role] = expires;
    if (role !== 'root') return;
    const old = this.root.signed;
    const root = new Metadata(
      new Root({
        version: old.version,
        specVersion: old.specVersion,
        expires: tufDate(expires),
        keys: old.keys,
        roles: old.roles,
        consistentSnapshot: old.consistentSnapshot,
        unrecognizedFields: old.unrecognizedFields,
      }),
    );
    // Re-sign with the keys that signed this version before (old and new ones after a rotation).
    this.#signAndWriteRoot(root, this.#rootSigners.get(old.version) ?? this.rootKeys);
  }

  async publish(options: PublishOptions = {}): Promise<void> {
    const bump = { targets: true, snapshot: true, timestamp: true, ...options.bump };
    const n = (role: TufRole): number => options.signWith?.[role] ?? this.#threshold(role);
    if (options.signWith?.root !== undefined) this.resign('root', options.signWith.root);
    if (bump.targets) {
      const old = this.targets.signed;
      const targets = new Metadata(
        new Targets({
          version: old.version + 1,
          specVersion: old.specVersion,
          expires: tufDate(this.#expiries.targets),
          targets: { ...old.targets },
          delegations: old.delegations,
          unrecognizedFields: old.unrecognizedFields,
        }),
      );
      this.#writeTargets(targets, n('targets'));
    }
    if (bump.snapshot) this.#writeSnapshot(this.#newSnapshot(this.snapshot.signed.version + 1), n('snapshot'));
    if (bump.timestamp) this.#writeTimestamp(this.#newTimestamp(this.timestamp.signed.version + 1), n('timestamp'));
  }

  resign(role: TufRole, keys?: number): void {
    const count = keys ?? this.#threshold(role);
    const signers = take(this.#keysOf(role), count, role);
    switch (role) {
      case 'root':
        this.#signAndWriteRoot(this.root, signers);
        return;
      case 'targets':
        this.targets.signatures = {};
        this.#writeTargets(this.targets, count);
        return;
      case 'snapshot':
        this.snapshot.signatures = {};
        this.#writeSnapshot(this.snapshot, count);
        return;
      case 'timestamp':
        this.timestamp.signatures = {};
        this.#writeTimestamp(this.timestamp, count);
        return;
    }
  }

  snapshotFromVersion(version: number): Buffer {
    const bytes = this.#snapshotBytes.get(version);
    if (!bytes) throw new Error(`snapshot version ${version} was never written`);
    return Buffer.from(bytes);
  }

  targetsFromVersion(version: number): Buffer {
    const bytes = this.#targetsBytes.get(version);
    if (!bytes) throw new Error(`targets version ${version} was never written`);
    return Buffer.from(bytes);
  }

  readFile(rel: string): Buffer {
    return readFileSync(join(this.dir, rel));
  }

  writeFile(rel: string, data: Uint8Array | string): void {
    const path = join(this.dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  }
}

/**
 * Creates keys and a repository with every top-level role at version 1 (no targets yet), all
 * written to `options.dir`.
 */
export async function createTufRepo(options: TufRepoOptions): Promise<TufRepo> {
  const repo = new TufRepoImpl(options);
  repo.initialPublish();
  return repo;
}
