// Daemon: the composition root. Builds the log, configuration, trail,
// profiles, the kernel's devices and bus objects, wires them, and applies a
// new configuration when asked.
import { closeSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BusConnection } from './bus/connection.js';
import { loadConfig, restartOnlyChanges, type Config } from './config/config.js';
import { AuditManager } from './core/audit/audit-manager.js';
import { JournalBackend } from './core/audit/backends/journal.js';
import { JsonlFileBackend } from './core/audit/backends/jsonl-file.js';
import { LibauditBackend } from './core/audit/backends/libaudit.js';
import { Dhcp4Client, openDhcp4Transports } from './core/dhcp/dhcp4-client.js';
import { systemClock } from './core/dhcp/clock.js';
import { LEASE6, LeaseStore } from './core/dhcp/lease-store.js';
import { HostSecret, ipv6SecretText } from './core/host-secret.js';
import { setLeaseDns } from './core/activation/dhcp4-session.js';
import { setLease6Dns } from './core/activation/dhcp6-session.js';
import { Dhcp6Client } from './core/dhcp/dhcp6-client.js';
import { DuidStore } from './core/dhcp/duid-store.js';
import { openUdp6Transport } from './core/dhcp/udp6-transport.js';
import { LogLineBackend } from './core/audit/backends/log-line.js';
import type { AuditBackend, AuditOp } from './core/audit/record.js';
import { findRecords, type ScannedDayFile } from './core/audit/trail/reader.js';
import type { TrailEntry } from './core/audit/trail/trail-line.js';
import { recordedProfiles, type RecordedProfilesScan } from './core/audit/trail/recorded-profiles.js';
import { TrailRetention } from './core/audit/trail/retention.js';
import type { Authorizer } from './core/auth/authorizer.js';
import { PolkitAuthorizer, type PolkitAuthority } from './core/auth/polkit.js';
import { RootOnlyAuthorizer } from './core/auth/root-only.js';
import { BusPolkitAuthority } from './bus/polkit-authority.js';
import { BusResolvedClient } from './bus/resolved-client.js';
import type { DnsMode } from './config/schema.js';
import { DnsManager, type DnsBackend } from './core/dns/dns-manager.js';
import { ResolvConfFile } from './core/dns/resolv-conf-file.js';
import { ResolvedDns } from './core/dns/resolved-dns.js';
import { UnmanagedDns } from './core/dns/unmanaged-dns.js';
import { Activations } from './core/activation/activations.js';
import { ActiveStore } from './core/activation/active-store.js';
import { PERSISTENT_DEFAULTS, parsePersistentState, parseRuntimeState, RUNTIME_DEFAULTS } from './core/state/daemon-state.js';
import { StateStore, type StateCommit } from './core/state/state-store.js';
import { DeviceList } from './core/devices/device-list.js';
import { NetauditError } from './core/errors.js';
import { Manager, type PreparedConfig } from './core/manager.js';
import type { Platform } from './core/platform/platform.js';
import { RtnetlinkPlatform } from './core/platform/rtnetlink-platform.js';
import { RunLock } from './core/run-lock.js';
import { ProfileStore } from './core/settings/profile-store.js';
import { ProfileCommit } from './core/commit/profile-commit.js';
import { WorkerDisk } from './core/commit/worker-disk.js';
import type { TrailFact } from './core/commit/recovery-plan.js';
import { dayFileName } from './core/audit/trail/day-file.js';
import { SettingsService } from './core/settings/settings.js';
import { ProfileWatch } from './core/settings/profile-watch.js';
import { ExternalWatch } from './core/external/external-watch.js';
import { netlinkSender } from './core/external/netlink-sender.js';
import { FdSink, Logger, type DomainLogger } from './log/logger.js';

export interface DaemonOptions {
  readonly configFile: string;
  /** false for the default path: a missing default file means the defaults */
  readonly configRequired: boolean;
  readonly busAddress?: string;
  readonly logFile?: string;
  readonly version: string;
  /** called when the daemon can no longer serve (the bus went away) */
  readonly onFatal: (reason: string) => void;
}

/** The DNS mode in use (docs/dns.md): `dns=auto` resolved to one, and what it was configured as. */
interface DnsChoice {
  readonly configured: DnsMode;
  readonly mode: DnsBackend['name'];
  readonly resolvConf: string;
  readonly runDir: string;
  readonly stateDir: string;
}

export class Daemon {
  private config: Config | null = null;
  private bus: BusConnection | null = null;
  private trail: JsonlFileBackend | null = null;
  private retention: TrailRetention | null = null;
  /** made when first enabled and kept, so that their counts survive a switch off and on */
  private libaudit: LibauditBackend | null = null;
  private journal: JournalBackend | null = null;
  private readonly logBackend: LogLineBackend;
  private authorizer: Authorizer = new RootOnlyAuthorizer();
  /** polkit over the daemon's bus connection, once the bus is open */
  private polkitAuthority: PolkitAuthority | null = null;
  private lock: RunLock | null = null;
  private logFd: number | null = null;
  private sink: FdSink | null = null;
  private commit: ProfileCommit | null = null;
  private disk: WorkerDisk | null = null;
  private platform: Platform | null = null;
  private devices: DeviceList | null = null;
  private readonly log: DomainLogger;
  private audit!: AuditManager;
  private dns: DnsManager | null = null;
  private dnsChoice: DnsChoice | null = null;

  private constructor(
    private readonly options: DaemonOptions,
    readonly logger: Logger,
  ) {
    this.log = logger.domain('CORE');
    this.logBackend = new LogLineBackend(logger);
  }

  static async start(options: DaemonOptions): Promise<Daemon> {
    const logFd = options.logFile ? openSync(options.logFile, 'a', 0o640) : null;
    const sink = new FdSink(logFd ?? 2);
    const daemon = new Daemon(options, new Logger(sink));
    daemon.logFd = logFd;
    daemon.sink = sink;
    try {
      await daemon.init();
    } catch (e) {
      await daemon.stop();
      throw e;
    }
    return daemon;
  }

  private readConfig(): Promise<Config> {
    return loadConfig(this.options.configFile, { required: this.options.configRequired });
  }

  private async init(): Promise<void> {
    const config = await this.readConfig();
    this.applyLogging(config);
    this.lock = RunLock.acquire(config.main.runDir);
    this.audit = new AuditManager({ log: this.logger.domain('AUDIT'), backends: [], enabled: config.logging.audit });
    (await this.prepareConfig(config)).apply();

    const store = new ProfileStore(config.main.profilesDir, this.logger.domain('SETTINGS'));
    await store.init();
    await store.recover((intents) => this.committedChanges(intents));
    // The write-ahead log's changes a previous run left (docs/commit.md), then this run's first segment.
    this.disk = new WorkerDisk(config.main.profilesDir);
    const commit = new ProfileCommit({
      disk: this.disk,
      log: this.logger.domain('SETTINGS'),
      boot: this.audit.boot,
      lowestOpenTx: () => this.audit.lowestOpenTx(),
    });
    await commit.recover(
      (boots, since) => this.trailFacts(boots, since),
      (o) => this.audit.recordUnattended('daemon', { op: o.op as AuditOp, tx: o.tx, args: o.boot, cause: 'restart', ...(o.uuid !== undefined ? { uuid: o.uuid } : {}), ...(o.name !== undefined ? { name: o.name } : {}) }, 'fail', { reason: 'interrupted' }),
    );
    await commit.start();
    this.commit = commit;
    // What the trail last recorded of each profile, read before retention may remove day files under
    // the scan; the profiles on disk are compared with it (docs/profile-edits.md).
    const recorded = this.audit.hasCommitBackend ? await this.recordedProfiles(config.audit.dir) : null;
    // Retention runs on [audit] dir (fixed until the next start) whether or not the file backend is on,
    // after recovery has read the last run's records; in the background, so that a long first run does
    // not hold the start up. Each run reads retention-days anew; a reload that changes it runs at once.
    this.retention = new TrailRetention({
      dir: config.audit.dir,
      retentionDays: () => this.config!.audit.retentionDays,
      keep: () => this.trail?.currentFile ?? null,
      log: this.logger.domain('AUDIT'),
    });
    this.retention.start();
    const settings = new SettingsService({ commit, audit: this.audit, auth: () => this.authorizer, log: this.logger.domain('SETTINGS') });
    // Watched from before the files are read, so that no edit falls between the two; what it sees
    // is compared once they are loaded (docs/profile-edits.md).
    this.profileWatch = new ProfileWatch({
      dir: config.main.profilesDir,
      settings,
      load: () => this.config!.main.monitorConnectionFiles,
      clock: systemClock,
      log: this.logger.domain('SETTINGS'),
    });
    this.profileWatch.setWatching(this.config!.audit.watch.includes('profiles'));
    await settings.load(recorded);
    // Device settings and switches (state-dir) and sleep (run-dir), each committed by its record.
    const committed = (changes: readonly StateCommit[]) => this.committedChanges(changes);
    const state = await StateStore.open({
      path: join(config.main.stateDir, 'state.json'),
      defaults: PERSISTENT_DEFAULTS,
      parse: parsePersistentState,
      log: this.log,
      committed,
    });
    const runtimeState = await StateStore.open({ path: join(config.main.runDir, 'state.json'), defaults: RUNTIME_DEFAULTS, parse: parseRuntimeState, log: this.log, committed });

    this.platform = await RtnetlinkPlatform.open({ log: this.log });
    // Before anything else changes the kernel: every change from here on is someone's (docs/external-changes.md).
    this.externalWatch = new ExternalWatch({
      platform: this.platform,
      audit: this.audit,
      log: this.logger.domain('AUDIT'),
      clock: systemClock,
      watched: () => new Set(this.config!.audit.watch),
      sender: (portid) => netlinkSender(portid),
    });
    await this.externalWatch.start();
    const devices = new DeviceList({ platform: this.platform, log: this.log, stored: (name) => state.value.devices[name] });
    const platform = this.platform;
    this.devices = devices;
    await devices.load();

    const hostSecret = new HostSecret(join(config.main.stateDir, 'secret_key'));
    const activeStore = new ActiveStore(config.main.runDir, this.log);
    // Sources set before the bus is open (adoption) wait for the backend, chosen once resolved can be asked about.
    const dns = new DnsManager({ log: this.log });
    this.dns = dns;
    let manager: Manager | null = null;
    const duids = new DuidStore(join(config.main.stateDir, 'dhcp'));
    const activations = new Activations({
      audit: this.audit,
      auth: () => this.authorizer,
      settings,
      devices,
      platform: this.platform,
      log: this.log,
      blocked: () => manager?.activationBlocked() ?? null,
      store: activeStore,
      dns,
      stableSecret: async (uuid) => ipv6SecretText(await hostSecret.derive('ipv6-stable-privacy', uuid)),
      dhcp: {
        leases: new LeaseStore(join(config.main.stateDir, 'dhcp')),
        // A lease's DNS is one more source of the link's DNS (docs/dns.md), unless ignore-auto-dns.
        setDns: (active, lease) => setLeaseDns(dns, active, lease),
        startClient: (request) => {
          const log = this.logger.domain('CORE');
          const { transport, arp } = openDhcp4Transports(request.ifindex, log);
          return new Dhcp4Client({ ...request, transport, arp, clock: systemClock, log });
        },
        now: Date.now,
        hostname: () => hostname() || null,
      },
      dhcp6: {
        leases: new LeaseStore(join(config.main.stateDir, 'dhcp'), LEASE6),
        // As DHCPv4's: a source of the link's DNS (docs/dns.md), unless ipv6.ignore-auto-dns.
        setDns: (active, lease) => setLease6Dns(dns, platform, active, lease),
        startClient: async (request) => {
          const log = this.logger.domain('CORE');
          const duid = await duids.get();
          const transport = await openUdp6Transport(request.iface, request.linkLocal, request.deadline, log, request.signal);
          return new Dhcp6Client({ ...request, duid, transport, clock: systemClock, log });
        },
        now: Date.now,
      },
    });
    this.activations = activations;
    manager = new Manager({
      version: this.options.version,
      audit: this.audit,
      auth: () => this.authorizer,
      settings,
      devices,
      activations,
      logger: this.logger,
      loadConfig: () => this.readConfig(),
      prepareConfig: (c) => this.prepareConfig(c),
      state,
      runtimeState,
    });
    this.manager = manager;
    // What the last daemon left running is taken up before any caller or autoconnect can act.
    await activations.adopt(activeStore.load(), (changes) => this.committedChanges(changes));
    this.bus = await BusConnection.open({
      ...(this.options.busAddress !== undefined ? { address: this.options.busAddress } : {}),
      manager,
      settings,
      devices,
      activations,
      audit: this.audit,
      log: this.logger.domain('BUS'),
      onLost: (reason) => this.options.onFatal(`lost the bus: ${reason}`),
    });
    // polkit is asked over the same connection. A call that came before this line was refused by the
    // placeholder: fail closed.
    this.polkitAuthority = new BusPolkitAuthority(this.bus.messageBus);
    this.applyAuth(this.config!);
    // Logged once the daemon answers on the bus, which is when a caller (or systemd) sees it started.
    this.log.info(
      `netauditd ${this.options.version} started: boot ${this.audit.boot}, ${settings.list().length} profile(s) in ${config.main.profilesDir}, ${devices.list().length} device(s), audit ${config.logging.audit ? `on (${this.audit.backendNames.join(',') || 'no backend'})` : 'off'}`,
    );
    await this.startDns(this.config!);
    // Profiles that name their interface come up on their own, each a daemon record.
    void activations.autoconnectAll();
  }

  private manager: Manager | null = null;
  private profileWatch: ProfileWatch | null = null;
  private externalWatch: ExternalWatch | null = null;
  private activations: Activations | null = null;

  /** SIGHUP: re-read the configuration and the profiles. */
  async reloadOnSignal(): Promise<void> {
    if (!this.manager) return;
    await this.manager.reloadOnSignal().catch((e: Error) => this.log.warn(e.message));
  }

  private async recordedProfiles(dir: string): Promise<RecordedProfilesScan> {
    const started = performance.now();
    const scan = await recordedProfiles(dir);
    this.logger.domain('AUDIT').info(`the trail names ${scan.profiles.size} profile(s); ${scan.parsed} record(s) read in ${Math.round(performance.now() - started)} ms`);
    return scan;
  }

  /**
   * The records of the runs `boots` that carry a tx, and the overturns a
   * later start wrote for them, in trail order: day files are read newest
   * first, down to the day before `since`.
   */
  private async trailFacts(boots: readonly string[], since: number): Promise<TrailFact[]> {
    const wanted = new Set(boots);
    const oldest = dayFileName(since - 86_400_000);
    // A trail record is a TrailFact as it is.
    return this.trailRecords(
      (e) => e.tx !== undefined && (wanted.has(e.boot) || (e.cause === 'restart' && e.args !== undefined && wanted.has(e.args))),
      (scanned) => scanned.file <= oldest,
    );
  }

  /** The trail's records for which `predicate` holds, newest day files first until `stopWhen`; none when there is no trail yet. */
  private trailRecords(predicate: (e: TrailEntry) => boolean, stopWhen: (scanned: ScannedDayFile) => boolean): Promise<TrailEntry[]> {
    return findRecords(this.config!.audit.dir, predicate, { stopWhen }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [];
      throw e;
    });
  }

  /** Which changes of an interrupted run (profile intents, state changes) have their success record in the trail. */
  private async committedChanges(intents: readonly StateCommit[]): Promise<ReadonlySet<string>> {
    if (intents.length === 0) return new Set();
    const wanted = new Set(intents.map((i) => `${i.boot}-${i.tx}`));
    const boots = new Set(intents.map((i) => i.boot));
    const found = await this.trailRecords(
      (e) => e.result === 'success' && e.tx !== undefined && wanted.has(`${e.boot}-${e.tx}`),
      // The records of the interrupted run are at the end of the trail.
      (scanned) => !boots.has(scanned.boots[0] ?? ''),
    );
    return new Set(found.map((e) => `${e.boot}-${e.tx}`));
  }

  private applyLogging(config: Config): void {
    this.logger.setLevel(config.logging.level);
    this.logger.setDomains(config.logging.domains);
  }

  /** The DNS mode at start: what an earlier daemon's mode file replaced is put back if that mode is left (docs/dns.md). */
  private async startDns(config: Config): Promise<void> {
    const choice = await this.dnsChoiceFor(config);
    if (choice.mode !== 'file') {
      await ResolvConfFile.restoreLeftover({ runDir: choice.runDir, stateDir: choice.stateDir, path: choice.resolvConf, log: this.log }).catch((e: Error) =>
        this.log.warn(`DNS: what mode file replaced could not be put back: ${e.message}`),
      );
    }
    await this.switchDns(choice);
  }

  /**
   * The DNS mode `config` asks for. auto is resolved when something owns
   * org.freedesktop.resolve1 on the bus, else file; asked at start and when
   * a reload sets auto, and kept while auto stays.
   */
  private async dnsChoiceFor(config: Config): Promise<DnsChoice> {
    const configured = config.main.dns;
    let mode: DnsChoice['mode'];
    if (configured !== 'auto') mode = configured;
    else if (this.dnsChoice?.configured === 'auto') mode = this.dnsChoice.mode;
    else mode = (await BusResolvedClient.present(this.bus!.messageBus).catch(() => false)) ? 'resolved' : 'file';
    return { configured, mode, resolvConf: config.main.resolvConf, runDir: config.main.runDir, stateDir: config.main.stateDir };
  }

  /** Switches DNS to `choice` unless it is the mode in use; the mode left puts back what it replaced. */
  private async switchDns(choice: DnsChoice): Promise<void> {
    const current = this.dnsChoice;
    this.dnsChoice = choice;
    if (current && current.mode === choice.mode && (choice.mode !== 'file' || current.resolvConf === choice.resolvConf)) return;
    const why = choice.configured === 'auto' ? ` (dns=auto: org.freedesktop.resolve1 is ${choice.mode === 'resolved' ? '' : 'not '}on the bus)` : '';
    const backend: DnsBackend =
      choice.mode === 'resolved'
        ? new ResolvedDns({ links: new BusResolvedClient(this.bus!.messageBus), log: this.log })
        : choice.mode === 'file'
          ? new ResolvConfFile({ runDir: choice.runDir, stateDir: choice.stateDir, path: choice.resolvConf, log: this.log })
          : new UnmanagedDns();
    this.log.info(
      choice.mode === 'resolved'
        ? `DNS of the active connections goes to systemd-resolved${why}`
        : choice.mode === 'file'
          ? `DNS of the active connections is written to ${join(choice.runDir, 'resolv.conf')}, linked from ${choice.resolvConf}${why}`
          : 'DNS of the active connections is not applied (dns=none)',
    );
    await this.dns!.setBackend(backend);
  }

  private applyAuth(config: Config): void {
    if (config.main.auth !== 'polkit') {
      this.authorizer = new RootOnlyAuthorizer();
      return;
    }
    const log = this.logger.domain('AUTH');
    // Before the bus is open nothing can call; were anything to, it would be refused (fail closed).
    const authority: PolkitAuthority = this.polkitAuthority ?? {
      check: () => Promise.reject(new Error('the bus connection is not open yet')),
    };
    this.authorizer = new PolkitAuthorizer({ authority, onUnavailable: (message) => log.warn(message) });
  }

  /** Opens what the configuration needs (the trail) so that applying it cannot fail. */
  private async backendsFor(config: Config): Promise<AuditBackend[]> {
    const backends: AuditBackend[] = [];
    for (const name of config.audit.backends) {
      if (name === 'log') backends.push(this.logBackend);
      if (name === 'libaudit') backends.push((this.libaudit ??= new LibauditBackend({ log: this.logger.domain('AUDIT') })));
      if (name === 'journal') backends.push((this.journal ??= new JournalBackend({ log: this.logger.domain('AUDIT') })));
      if (name === 'file') {
        if (!this.trail) {
          try {
            this.trail = await JsonlFileBackend.open({ dir: config.audit.dir, log: this.logger.domain('AUDIT') });
          } catch (e) {
            const message = e instanceof NetauditError ? e.message : `The audit trail in ${JSON.stringify(config.audit.dir)} cannot be opened: ${(e as Error).message}`;
            throw new NetauditError('Failed', message, 'audit-trail-unavailable');
          }
        }
        backends.push(this.trail);
      }
    }
    return backends;
  }

  /**
   * Readies a configuration: everything that can fail happens here, before
   * the reload is recorded; `apply` then only switches. Keys that need a
   * restart keep their running values.
   */
  private async prepareConfig(next: Config): Promise<PreparedConfig> {
    const previous = this.config;
    const pinned = previous ? restartOnlyChanges(previous, next) : [];
    const effective: Config = pinned.length === 0 ? next : {
      ...next,
      main: { ...next.main, profilesDir: previous!.main.profilesDir, runDir: previous!.main.runDir, stateDir: previous!.main.stateDir },
      audit: { ...next.audit, dir: previous!.audit.dir },
    };
    const backends = await this.backendsFor(effective);
    // DNS switches at apply; at start the bus is not open yet and startDns() chooses.
    const dnsChoice = this.bus && this.dnsChoice ? await this.dnsChoiceFor(effective) : null;
    const current = this.audit.activeBackends;
    const addsBackend = backends.some((b) => !current.includes(b));
    const turningOn = effective.logging.audit && (!this.audit.isEnabled || addsBackend);
    return {
      // A record of a switch reaches the backends that are on after it when they are more.
      recordAfterApply: turningOn,
      apply: () => {
        if (pinned.length > 0) this.log.warn(`configuration keys ${pinned.join(', ')} changed; they take effect at the next start`);
        this.audit.setBackends(backends);
        this.applyLogging(effective);
        this.applyAuth(effective);
        this.audit.setEnabled(effective.logging.audit);
        if (previous) this.logger.domain('CONFIG').info(`configuration reloaded from ${effective.files.join(', ') || '(defaults)'}: audit ${effective.logging.audit ? 'on' : 'off'}, backends ${effective.audit.backends.join(',') || 'none'}`);
        this.config = effective;
        this.profileWatch?.setWatching(effective.audit.watch.includes('profiles'));
        if (dnsChoice) void this.switchDns(dnsChoice);
        if (previous && previous.audit.retentionDays !== effective.audit.retentionDays) void this.retention?.run();
      },
    };
  }

  async stop(): Promise<void> {
    this.bus?.close();
    this.bus = null;
    this.profileWatch?.stop();
    await this.profileWatch?.settled();
    this.profileWatch = null;
    await this.activations?.settle(5000);
    this.activations = null;
    await this.externalWatch?.stop();
    this.externalWatch = null;
    // What DNS the active connections gave stays, for the next daemon to adopt (docs/dns.md).
    await this.dns?.close();
    this.dns = null;
    this.devices?.close();
    this.devices = null;
    await this.platform?.close();
    this.platform = null;
    await this.commit?.close();
    this.commit = null;
    this.disk?.close();
    this.disk = null;
    await this.retention?.stop();
    this.retention = null;
    await this.trail?.close();
    this.trail = null;
    await this.libaudit?.close();
    await this.journal?.close();
    this.lock?.release();
    this.lock = null;
    this.sink?.flushSync();
    if (this.logFd !== null) closeSync(this.logFd);
    this.logFd = null;
  }
}
