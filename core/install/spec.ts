// Parses what `cheshire install` is given: an npm spec (name, name@range or @tag, a tarball
// path, an http(s) tarball URL, a folder) that pacote fetches, or HOST:PORT/PATH, a module in
// another node's 9P tree; each optionally pinned by a `#sha256=HEX` (or npm's `#sha512-…`) suffix.
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { chsError } from '../errors.ts';

export type InstallSource =
  /** Fetched by pacote; `folder` when the spec names a directory on this machine. */
  | { kind: 'npm'; spec: string; folder: string | undefined }
  /** A folder of a 9P tree: `treePath` is what is read (…/modules/NAME means …/modules/NAME/source). */
  | { kind: '9p'; address: string; treePath: string };

export interface InstallPin {
  /** Lowercase hex: of the tarball's bytes, or of the file list (tree-hash.ts) for folders and 9P. */
  sha256?: string;
  /** npm's integrity string (`sha512-BASE64`), checked by pacote over the tarball. */
  sha512?: string;
}

export interface InstallSpec {
  /** The spec as given, without its pin. */
  spec: string;
  source: InstallSource;
  pin: InstallPin;
}

const PIN = /#(sha256=.*|sha512-.*)$/;
const SHA256 = /^sha256=([0-9a-fA-F]{64})$/;
const SHA512 = /^sha512-[A-Za-z0-9+/]{86}==$/;
// HOST:PORT/PATH, HOST a name, an IPv4 address or a bracketed IPv6 one. npm has no spec of this
// shape (its scp-like git specs carry no port), so nothing npm installs is taken for it.
const NINEP = /^(?:9p:\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})(\/.*)$/;

export function parseInstallSpec(raw: string, cwd = process.cwd()): InstallSpec {
  const given = raw.trim();
  if (!given) throw chsError('CHS_ERR_INSTALL_SPEC', 'no module to install was named (a package name, tarball, URL, folder or HOST:PORT/modules/NAME)');
  const pin: InstallPin = {};
  let spec = given;
  const m = PIN.exec(given);
  if (m) {
    spec = given.slice(0, m.index);
    const sha = SHA256.exec(m[1]!);
    if (sha) pin.sha256 = sha[1]!.toLowerCase();
    else if (SHA512.test(m[1]!)) pin.sha512 = m[1]!;
    else throw chsError('CHS_ERR_INSTALL_SPEC', `${given}: the pin must be #sha256= and 64 hex digits, or #sha512- and npm's 88-character base64 digest`);
  }
  if (!spec) throw chsError('CHS_ERR_INSTALL_SPEC', `${given}: nothing before the pin`);

  const p = NINEP.exec(spec);
  if (p) {
    const port = Number(p[2]);
    if (port < 1 || port > 65535) throw chsError('CHS_ERR_INSTALL_SPEC', `${given}: port ${p[2]} is out of range`);
    const parts = p[3]!.split('/').filter(Boolean);
    if (!parts.length) throw chsError('CHS_ERR_INSTALL_SPEC', `${given}: name a module folder of the tree, e.g. ${p[1]}:${port}/modules/NAME`);
    if (parts.some((x) => x === '.' || x === '..')) throw chsError('CHS_ERR_INSTALL_SPEC', `${given}: "." and ".." are not allowed in the tree path`);
    if (parts.length >= 2 && parts.at(-2) === 'modules') parts.push('source');
    return { spec, source: { kind: '9p', address: `${p[1]}:${port}`, treePath: '/' + parts.join('/') }, pin };
  }

  return { spec, source: { kind: 'npm', spec, folder: folderOf(spec, cwd) }, pin };
}

/** The directory a path-like spec names (as npm reads paths: ./ ../ / ~/ file:), else undefined. */
function folderOf(spec: string, cwd: string): string | undefined {
  const path = spec.startsWith('file:') ? spec.slice(5) : spec;
  if (!/^(\.{1,2}(\/|$)|\/|~\/)/.test(path)) return undefined;
  const abs = path.startsWith('~/') ? resolve(homedir(), path.slice(2)) : resolve(cwd, path);
  const st = statSync(abs, { throwIfNoEntry: false });
  if (!st) throw chsError('CHS_ERR_INSTALL_FETCH', `${spec}: no such file or folder (${abs})`);
  return st.isDirectory() ? abs : undefined;
}
