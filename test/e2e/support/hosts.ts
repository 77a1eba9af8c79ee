import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Place, until } from './processes';

/**
 * Separate hosts on one machine: a network namespace per host, each wired by a veth pair to one
 * bridge on a private subnet, so that processes really talk over a network (their own
 * addresses, ARP, TCP across a link that can be cut). Needs root, as CI is.
 *
 * Everything made here is named with PREFIX and lives on SUBNET only, never near the shared
 * servers on 127.0.0.1; whatever a crashed run left behind is swept before the next one starts
 * and when this process exits.
 */
export const PREFIX = 'em15-';
const SUBNET = '10.215.0';
const BRIDGE = `${PREFIX}br`;
/** This process (the clients of the tests: a load balancer, an operator) is on the bridge itself. */
export const BRIDGE_ADDRESS = `${SUBNET}.1`;
/** One run at a time may own the subnet: a second one waits for the first. */
const LOCK = join(tmpdir(), `${PREFIX}hosts.lock`);
/** About as long as the longest suite on the hosts runs. */
export const LOCK_WAIT_MS = 180_000;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const attempt = (run: () => unknown) => {
  try {
    run();
  } catch {
    // Already gone: sweeping is idempotent.
  }
};

/** Why hosts cannot be made here, or undefined when they can. */
export function hostsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (ip netns needs it)';
  try {
    ip('netns', 'list');
  } catch (error) {
    return `\`ip netns\` does not work here: ${(error as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/** A host of its own: a namespace with one interface on the bridge. */
export class Host implements Place {
  readonly namespace: string;
  /** The host side of its veth pair, on the bridge: taking it down cuts the host off. */
  readonly link: string;

  constructor(
    readonly name: string,
    readonly address: string,
  ) {
    this.namespace = `${PREFIX}${name}`;
    this.link = `${PREFIX}${name}`;
  }

  wrap(command: string, args: readonly string[]): [string, string[]] {
    // `ip netns exec` execs the command in place: the pid we get is the program's own, for kill -9.
    return ['ip', ['netns', 'exec', this.namespace, command, ...args]];
  }

  /** Every host has its own port space, so its servers take their usual ports. */
  async port(usual: number): Promise<number> {
    return usual;
  }

  /** The network partition: its link goes down; connections in flight stall as on a cut cable. */
  partition(): void {
    ip('link', 'set', this.link, 'down');
  }

  heal(): void {
    ip('link', 'set', this.link, 'up');
  }
}

/** The bridge and the hosts on it; `remove` (or the exit of this process) takes it all down again. */
export class Lan {
  private readonly hosts: Host[] = [];
  private removed = false;
  private readonly onExit = () => this.remove();

  private constructor() {
    process.on('exit', this.onExit);
  }

  static async create(): Promise<Lan> {
    await takeLock();
    sweep();
    const lan = new Lan();
    try {
      ip('link', 'add', BRIDGE, 'type', 'bridge');
      ip('addr', 'add', `${BRIDGE_ADDRESS}/24`, 'dev', BRIDGE);
      ip('link', 'set', BRIDGE, 'up');
    } catch (error) {
      lan.remove();
      throw error;
    }
    return lan;
  }

  /** Adds a host at 10.215.0.<octet>; names are short, as interface names are at most 15 characters. */
  async host(name: string, octet: number): Promise<Host> {
    const host = new Host(name, `${SUBNET}.${octet}`);
    this.hosts.push(host);
    ip('netns', 'add', host.namespace);
    ip('link', 'add', host.link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.namespace);
    ip('link', 'set', host.link, 'master', BRIDGE, 'up');
    ip('-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
    ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
    ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
    // Carrier comes up asynchronously on a veth pair.
    await until(() => ip('-n', host.namespace, '-o', 'link', 'show', 'eth0').includes('LOWER_UP'), `${host.namespace}'s link to come up`, 5_000, 20);
    return host;
  }

  /** Kills what still runs on the hosts, deletes them and the bridge, and lets the next run in. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    process.off('exit', this.onExit);
    sweep();
    rmSync(LOCK, { force: true });
  }
}

/**
 * Removes every namespace and link named with PREFIX and the temporary directories of the servers
 * on them. The processes killed are those still running inside our namespaces: the previous
 * run's, by their ids.
 */
function sweep(): void {
  const { namespaces } = leftovers();
  for (const namespace of namespaces) {
    let pids: string[] = [];
    attempt(() => (pids = ip('netns', 'pids', namespace).split('\n').filter(Boolean)));
    for (const pid of pids) attempt(() => process.kill(Number(pid), 'SIGKILL'));
    attempt(() => ip('netns', 'del', namespace));
  }
  // Deleting a namespace deletes its end of a veth pair, and with it our end.
  for (const link of leftovers().links) attempt(() => ip('link', 'del', link));
  for (const entry of readdirSync(tmpdir())) {
    if (entry.startsWith(PREFIX) && join(tmpdir(), entry) !== LOCK) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

/** Namespaces and links named as ours: none once a Lan is removed. */
export function leftovers(): { namespaces: string[]; links: string[] } {
  const namespaces = ip('netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name.startsWith(PREFIX));
  const links = ip('-o', 'link', 'show')
    .split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0])
    .filter((name): name is string => !!name && name.startsWith(PREFIX));
  return { namespaces, links };
}

/** The lock file holds its owner's pid; a lock whose owner is gone is stale and taken over. */
async function takeLock(): Promise<void> {
  await until(
    () => {
      try {
        const fd = openSync(LOCK, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return true;
      } catch {
        const owner = Number(readFileSync(LOCK, 'utf8'));
        if (!alive(owner)) rmSync(LOCK, { force: true });
        return false;
      }
    },
    `another run to release ${LOCK}`,
    LOCK_WAIT_MS,
    200,
  );
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
