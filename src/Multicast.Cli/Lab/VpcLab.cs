using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Multicast.Cli.Lab;

/// <summary>One simulated VM: a network namespace with one veth into the lab bridge.</summary>
public sealed record LabHost(string Name, string Namespace, string Interface, IPAddress Address, string Mac, string WorkDir)
{
    public override string ToString() => $"{Name} ({Address})";
}

public sealed record CommandResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// A throwaway "VPC without multicast" built from network namespaces: a bridge namespace whose nftables bridge-family
/// forward chain drops IPv4 multicast, plus a source host, members and non-members, each a namespace with a veth
/// into the bridge and an address in a private /24 that exists only inside these namespaces.
/// Everything it creates (namespaces, processes, temp directories) is removed on Dispose, on SIGINT/SIGTERM/SIGHUP,
/// and at process exit; <see cref="CleanupLeftovers"/> removes what a killed earlier run left behind.
/// </summary>
public sealed partial class VpcLab : IDisposable
{
    /// <summary>Every namespace and temp directory is named "mcl-OWNERPID-RANDOM-...", so leftovers can be attributed.</summary>
    public const string NamePrefix = "mcl-";
    public const string VpcTable = "vpc";
    // "forward"/"fwd" are nft keywords; a plain name avoids quoting surprises.
    public const string VpcChain = "no_multicast";

    public string Id { get; }
    public string BridgeNamespace { get; }
    public string WorkDir { get; }
    public LabHost Source { get; }
    public IReadOnlyList<LabHost> Members { get; }
    public IReadOnlyList<LabHost> NonMembers { get; }
    public IReadOnlyList<LabHost> Hosts { get; }
    public string SubnetPrefix { get; }
    public LabBinaries Binaries { get; }

    private readonly Action<string> _log;
    private readonly List<string> _namespaces = new();
    private readonly List<LabProcess> _processes = new();
    private readonly object _gate = new();
    private int _disposed;

    private static readonly List<VpcLab> Live = new();
    private static readonly object LiveGate = new();
    private static PosixSignalRegistration[]? _signalRegistrations;

    private VpcLab(int members, int nonMembers, LabBinaries binaries, Action<string>? log)
    {
        _log = log ?? (_ => { });
        Binaries = binaries;
        string rand = Convert.ToHexString(RandomNumberGenerator(3)).ToLowerInvariant();
        Id = $"{Environment.ProcessId}-{rand}";
        BridgeNamespace = $"{NamePrefix}{Id}-br";
        WorkDir = Path.Combine(Path.GetTempPath(), $"{NamePrefix}{Id}");
        // A random 10.x.y.0/24 keeps concurrent labs apart even though each lives in its own namespaces anyway.
        byte[] r = RandomNumberGenerator(2);
        SubnetPrefix = $"10.{200 + r[0] % 50}.{r[1]}";

        Source = MakeHost("src", 1, rand, 0);
        var m = new List<LabHost>();
        for (int i = 1; i <= members; i++) m.Add(MakeHost($"m{i}", 10 + i, rand, i));
        var x = new List<LabHost>();
        for (int i = 1; i <= nonMembers; i++) x.Add(MakeHost($"x{i}", 100 + i, rand, 100 + i));
        Members = m;
        NonMembers = x;
        Hosts = [Source, .. m, .. x];
    }

    private LabHost MakeHost(string role, int octet, string rand, int index)
    {
        // Interface names must fit IFNAMSIZ (15); the random part makes them unique across labs.
        string iface = $"v{rand}{role}";
        string mac = $"02:6d:63:{rand[..2]}:{rand[2..4]}:{index:x2}";
        return new LabHost(role, $"{NamePrefix}{Id}-{role}", iface, IPAddress.Parse($"{SubnetPrefix}.{octet}"), mac, Path.Combine(WorkDir, role));
    }

    private static byte[] RandomNumberGenerator(int n) => System.Security.Cryptography.RandomNumberGenerator.GetBytes(n);

    public static bool IsRoot => OperatingSystem.IsLinux() && geteuid() == 0;

    /// <summary>Builds the lab. On any failure, whatever was created is removed before the exception propagates.</summary>
    public static VpcLab Create(int members, int nonMembers = 0, LabBinaries? binaries = null, Action<string>? log = null)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the namespace lab needs Linux");
        if (!IsRoot) throw new UnauthorizedAccessException("the namespace lab needs root (network namespaces, veth, nftables)");
        if (members < 1 || members > 80 || nonMembers < 0 || nonMembers > 80) throw new ArgumentOutOfRangeException(nameof(members));
        EnsureCleanupHandlers();
        var lab = new VpcLab(members, nonMembers, binaries ?? LabBinaries.Locate(), log);
        lock (LiveGate) Live.Add(lab);
        try
        {
            lab.Build();
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    private void Build()
    {
        Directory.CreateDirectory(WorkDir);
        AddNamespace(BridgeNamespace);
        Ip("-n", BridgeNamespace, "link", "set", "lo", "up");
        // No IGMP snooping: the nftables rule must be the only thing between the hosts and multicast, as in a VPC.
        Ip("-n", BridgeNamespace, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0", "stp_state", "0");
        Ip("-n", BridgeNamespace, "link", "set", "br0", "up");
        // br_netfilter (when loaded) would validate IPv4 headers on the bridge and silently eat the malformed packets
        // the tests send on purpose; a VPC fabric forwards them, so switch it off in this namespace.
        TrySysctl(BridgeNamespace, "net.bridge.bridge-nf-call-iptables", "0");
        TrySysctl(BridgeNamespace, "net.bridge.bridge-nf-call-ip6tables", "0");
        TrySysctl(BridgeNamespace, "net.bridge.bridge-nf-call-arptables", "0");
        TrySysctl(BridgeNamespace, "net.ipv6.conf.all.disable_ipv6", "1");
        TrySysctl(BridgeNamespace, "net.ipv6.conf.default.disable_ipv6", "1");

        foreach (LabHost h in Hosts)
        {
            Directory.CreateDirectory(h.WorkDir);
            AddNamespace(h.Namespace);
            // IPv6 off: no router solicitations or MLD reports cluttering captures and counters.
            TrySysctl(h.Namespace, "net.ipv6.conf.all.disable_ipv6", "1");
            TrySysctl(h.Namespace, "net.ipv6.conf.default.disable_ipv6", "1");
            Ip("-n", h.Namespace, "link", "set", "lo", "up");
            string bridgeSide = "b" + h.Interface[1..];
            Ip("-n", BridgeNamespace, "link", "add", bridgeSide, "type", "veth", "peer", "name", h.Interface, "netns", h.Namespace);
            Ip("-n", BridgeNamespace, "link", "set", bridgeSide, "master", "br0", "up");
            Ip("-n", h.Namespace, "link", "set", h.Interface, "address", h.Mac);
            Ip("-n", h.Namespace, "addr", "add", $"{h.Address}/24", "dev", h.Interface);
            Ip("-n", h.Namespace, "link", "set", h.Interface, "up");
            Ip("-n", h.Namespace, "route", "add", "224.0.0.0/4", "dev", h.Interface);
        }

        string rules = $$"""
            table bridge {{VpcTable}} {
              chain {{VpcChain}} {
                type filter hook forward priority 0; policy accept;
                ip daddr 224.0.0.0/4 counter drop
              }
            }
            """;
        string file = Path.Combine(WorkDir, "vpc.nft");
        File.WriteAllText(file, rules + "\n");
        Check(Exec(BridgeNamespace, Tool("nft"), "-f", file), "nft -f vpc.nft");
        _log($"lab {Id}: bridge {BridgeNamespace}, subnet {SubnetPrefix}.0/24, hosts: {string.Join(", ", Hosts)}");
    }

    private void AddNamespace(string ns)
    {
        Ip("netns", "add", ns);
        lock (_gate) _namespaces.Add(ns);
    }

    private void TrySysctl(string ns, string key, string value) => Exec(ns, Tool("sysctl"), "-q", "-w", $"{key}={value}");

    /// <summary>Turns the VPC's multicast drop off (true = multicast crosses the bridge natively) or back on.</summary>
    public void SetNativeMulticast(bool allowed)
    {
        Check(Exec(BridgeNamespace, Tool("nft"), "flush", "chain", "bridge", VpcTable, VpcChain), "nft flush chain");
        if (!allowed)
            Check(Exec(BridgeNamespace, Tool("nft"), "add", "rule", "bridge", VpcTable, VpcChain, "ip", "daddr", "224.0.0.0/4", "counter", "drop"), "nft add rule");
    }

    /// <summary>The benchmarking range (RFC 2544) that <see cref="AddSinkMembers"/> hands out: never routed anywhere real.</summary>
    public const string SinkRange = "198.18.0.0/15";
    public const string SinkTable = "sink";

    /// <summary>
    /// Gives <paramref name="sink"/> <paramref name="count"/> member addresses from <see cref="SinkRange"/>, routed to
    /// it from the source host. Groups of hundreds or thousands of members then need no namespace, client and receiver
    /// each. The sink counts and drops every packet to them at netdev ingress (<see cref="SinkPackets"/>), so a run can
    /// check that each copy arrived without paying for a receive path per copy.
    /// </summary>
    public IReadOnlyList<IPAddress> AddSinkMembers(LabHost sink, int count)
    {
        if (count < 1 || count > 65534) throw new ArgumentOutOfRangeException(nameof(count), "1 to 65,534 sink members");
        Ip("-n", Source.Namespace, "route", "replace", SinkRange, "via", sink.Address.ToString(), "dev", Source.Interface);
        string rules = $$"""
            table netdev {{SinkTable}} {
              chain ingress {
                type filter hook ingress device "{{sink.Interface}}" priority 0; policy accept;
                ip daddr {{SinkRange}} counter drop
              }
            }
            """;
        string file = Path.Combine(sink.WorkDir, "sink.nft");
        File.WriteAllText(file, rules + "\n");
        Exec(sink, Tool("nft"), "delete", "table", "netdev", SinkTable); // a second call starts the count afresh
        Check(Exec(sink, Tool("nft"), "-f", file), "nft -f sink.nft");
        // 198.18.0.1 upwards, skipping the .0 and .255 of each /24 so no address looks like a network or broadcast.
        var addresses = new List<IPAddress>(count);
        for (int i = 0; i < count; i++)
        {
            int host = i % 254 + 1, net = i / 254;
            addresses.Add(new IPAddress(new byte[] { 198, (byte)(18 + net / 256), (byte)(net % 256), (byte)host }));
        }
        return addresses;
    }

    /// <summary>Packets to sink members that reached <paramref name="sink"/> since <see cref="AddSinkMembers"/>.</summary>
    public long SinkPackets(LabHost sink) => ChainPackets(sink.Namespace, "netdev", SinkTable, "ingress");

    /// <summary>Packets the bridge has dropped for being multicast (the rule's counter).</summary>
    public long BridgeMulticastDrops() => ChainPackets(BridgeNamespace, "bridge", VpcTable, VpcChain);

    /// <summary>
    /// Where the kernel dropped packets in this lab, one line per namespace with its non-zero counters (interface drops,
    /// IP reassembly failures, UDP receive-buffer errors), then the machine's backlog drops and squeezes. The
    /// counters run from the lab's creation; a failed end-to-end test prints them so a loss in CI says where it was.
    /// </summary>
    public IReadOnlyList<string> KernelDrops()
    {
        const string interfaces =
            "for d in /sys/class/net/*; do n=${d##*/}; [ \"$n\" = lo ] && continue; " +
            "echo \"$n.rx_dropped $(cat $d/statistics/rx_dropped)\"; echo \"$n.tx_dropped $(cat $d/statistics/tx_dropped)\"; done";
        string[] wanted = ["Ip:ReasmFails", "Ip:ReasmTimeout", "Udp:InErrors", "Udp:RcvbufErrors", "Udp:SndbufErrors"];
        var lines = new List<string>();
        foreach (string ns in Hosts.Select(h => h.Namespace).Prepend(BridgeNamespace))
        {
            IEnumerable<(string Name, long Value)> interfaceDrops = Exec(ns, "sh", "-c", interfaces).Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))
                .Where(f => f.Length == 2 && long.TryParse(f[1], out _)).Select(f => (f[0], long.Parse(f[1])));
            IReadOnlyDictionary<string, long> snmp = Snmp(ns);
            IEnumerable<string> nonZero = interfaceDrops.Concat(wanted.Select(w => (Name: w, Value: snmp.GetValueOrDefault(w))))
                .Where(c => c.Value != 0).Select(c => $"{c.Name}={c.Value}");
            lines.Add($"{ns}: {string.Join(" ", nonZero.DefaultIfEmpty("no drops"))}");
        }
        // softnet_stat is per CPU and machine-wide: column 2 counts backlog (netdev_max_backlog) drops, column 3 the
        // times the receive softirq ran out of budget.
        long dropped = 0, squeezed = 0;
        foreach (string l in File.ReadAllLines("/proc/net/softnet_stat"))
        {
            string[] f = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            dropped += Convert.ToInt64(f[1], 16);
            squeezed += Convert.ToInt64(f[2], 16);
        }
        lines.Add($"machine: backlog_dropped={dropped} softirq_squeezed={squeezed} (since boot)");
        return lines;
    }

    /// <summary>A namespace's /proc/net/snmp as "Group:Counter" → value ("Ip:ReasmFails", "Icmp:InDestUnreachs", ...).</summary>
    public IReadOnlyDictionary<string, long> Snmp(string ns)
    {
        // Each group is two lines: its counters' names, then their values, both after the "Group:" prefix.
        string[] lines = Exec(ns, "cat", "/proc/net/snmp").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var counters = new Dictionary<string, long>();
        for (int i = 0; i + 1 < lines.Length; i += 2)
        {
            string[] names = lines[i].Split(' '), values = lines[i + 1].Split(' ');
            for (int k = 1; k < Math.Min(names.Length, values.Length); k++)
                if (long.TryParse(values[k], out long v)) counters[names[0] + names[k]] = v;
        }
        return counters;
    }

    public IReadOnlyDictionary<string, long> Snmp(LabHost host) => Snmp(host.Namespace);

    /// <summary>The packet count of the (one) counter in an nftables chain.</summary>
    private long ChainPackets(string ns, string family, string table, string chain)
    {
        CommandResult r = Check(Exec(ns, Tool("nft"), "list", "chain", family, table, chain), $"nft list chain {family} {table} {chain}");
        Match m = Regex.Match(r.Stdout, @"counter packets (\d+)");
        return m.Success ? long.Parse(m.Groups[1].Value) : 0;
    }

    // ---------------------------------------------------------------- running things inside hosts

    /// <summary>Runs a command to completion inside a namespace (via `ip netns exec`).</summary>
    public CommandResult Exec(string ns, string file, params string[] args) =>
        RunCommand(Tool("ip"), ["netns", "exec", ns, file, .. args], TimeSpan.FromSeconds(30));

    public CommandResult Exec(LabHost host, string file, params string[] args) => Exec(host.Namespace, file, args);

    /// <summary>Starts a long-running process inside a host; the lab kills it on Dispose if it is still running.</summary>
    public LabProcess Start(LabHost host, string description, string file, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        ThrowIfDisposed();
        var psi = new ProcessStartInfo(Tool("ip"));
        foreach (string a in (string[])["netns", "exec", host.Namespace, file, .. args]) psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        var p = new LabProcess(psi, $"{description} on {host.Name}");
        lock (_gate) _processes.Add(p);
        return p;
    }

    /// <summary>Starts `multicast tool ARGS` (send, recv, rawsend) inside a host.</summary>
    public LabProcess StartTool(LabHost host, params string[] args) =>
        Start(host, $"tool {args.FirstOrDefault()}", Binaries.Multicast, ["tool", .. args]);

    /// <summary>Starts `tool recv` and returns once it has printed its "listening" line (socket bound and joined).</summary>
    public LabProcess StartReceiver(LabHost host, params string[] args)
    {
        LabProcess p = StartTool(host, ["recv", .. args]);
        p.WaitForLine(l => l.StartsWith("listening", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        return p;
    }

    /// <summary>Starts a server (multis) on <paramref name="host"/> with the given config and waits for its PID file.</summary>
    public LabDaemon StartServer(LabHost host, string engine, string configJson, TimeSpan? readyTimeout = null, params string[] extraArgs) =>
        StartDaemon(DaemonKind.Server, host, engine, configJson, readyTimeout, extraArgs);

    public LabDaemon StartClient(LabHost host, string engine, string configJson, TimeSpan? readyTimeout = null, params string[] extraArgs) =>
        StartDaemon(DaemonKind.Client, host, engine, configJson, readyTimeout, extraArgs);

    private LabDaemon StartDaemon(DaemonKind kind, LabHost host, string engine, string configJson, TimeSpan? readyTimeout, string[] extraArgs)
    {
        string name = kind == DaemonKind.Server ? "multis" : "multic";
        string dir = Path.Combine(host.WorkDir, name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); // stale pid/stats from an earlier daemon
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, kind == DaemonKind.Server ? "server_cfg.json.txt" : "client_cfg.json.txt"), configJson);
        (string file, string[] lead) = kind == DaemonKind.Server ? Binaries.Server : Binaries.Client;
        LabProcess p = Start(host, $"{name} --engine {engine}", file, [.. lead, "-R", "--interface", host.Interface, "--engine", engine, .. extraArgs],
            new Dictionary<string, string> { ["MULTICAST_CONFIG_DIR"] = dir });
        var d = new LabDaemon(kind, host, engine, dir, p);
        try
        {
            d.WaitReady(readyTimeout ?? TimeSpan.FromSeconds(20));
        }
        catch
        {
            p.Kill();
            throw;
        }
        return d;
    }

    // ---------------------------------------------------------------- teardown

    private readonly ManualResetEventSlim _teardownDone = new(false);

    /// <summary>Set when a signal tore the labs down, so callers can report an interruption instead of errors.</summary>
    public static bool Interrupted { get; private set; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            // Another thread (a signal handler, or Main unwinding) is tearing down: returning early would let the
            // process exit halfway through and leave namespaces behind.
            _teardownDone.Wait(TimeSpan.FromSeconds(60));
            return;
        }
        try { Teardown(); }
        finally { _teardownDone.Set(); }
    }

    private void Teardown()
    {
        lock (LiveGate) Live.Remove(this);
        LabProcess[] processes;
        string[] namespaces;
        lock (_gate) { processes = _processes.ToArray(); namespaces = _namespaces.ToArray(); }
        // Each step is guarded on its own: a failure to stop one process must never leave namespaces behind.
        foreach (LabProcess p in processes) Try(() => p.Signal(Signals.Term));
        var sw = Stopwatch.StartNew();
        foreach (LabProcess p in processes)
            Try(() =>
            {
                TimeSpan left = TimeSpan.FromSeconds(2) - sw.Elapsed;
                if (left < TimeSpan.Zero || !p.WaitForExit(left)) p.Kill();
                p.Dispose();
            });
        foreach (string ns in namespaces) Try(() => RemoveNamespace(ns));
        TryDeleteDirectory(WorkDir);
        _log($"lab {Id}: removed");
    }

    private void Try(Action step)
    {
        try { step(); }
        catch (Exception e) { _log($"lab {Id}: cleanup step failed: {e.Message}"); }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Kills whatever still runs in the namespace (only processes started in it), then deletes it.</summary>
    private static void RemoveNamespace(string ns)
    {
        CommandResult pids = RunCommand(Tool("ip"), ["netns", "pids", ns], TimeSpan.FromSeconds(10));
        foreach (string line in pids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (int.TryParse(line, out int pid) && pid != Environment.ProcessId) LabProcess.SendSignal(pid, Signals.Kill);
        RunCommand(Tool("ip"), ["netns", "del", ns], TimeSpan.FromSeconds(10));
    }

    private static void TryDeleteDirectory(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Removes namespaces and temp directories of labs whose owning process is gone (a crashed or killed run).
    /// Labs of live processes are left alone, so concurrent runs do not tear each other down. Returns what was removed.
    /// </summary>
    public static IReadOnlyList<string> CleanupLeftovers()
    {
        var removed = new List<string>();
        if (!OperatingSystem.IsLinux()) return removed;
        CommandResult list = RunCommand(Tool("ip"), ["netns", "list"], TimeSpan.FromSeconds(10));
        foreach (string line in list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string ns = line.Split(' ', 2)[0];
            if (IsOrphan(ns)) { RemoveNamespace(ns); removed.Add(ns); }
        }
        foreach (string dir in Directory.EnumerateDirectories(Path.GetTempPath(), NamePrefix + "*"))
            if (IsOrphan(Path.GetFileName(dir))) { TryDeleteDirectory(dir); removed.Add(dir); }
        return removed;
    }

    private static bool IsOrphan(string name)
    {
        Match m = Regex.Match(name, @"^mcl-(\d+)-[0-9a-f]{6}(-|$)");
        if (!m.Success) return false;
        int owner = int.Parse(m.Groups[1].Value);
        if (owner == Environment.ProcessId)
        {
            lock (LiveGate) return !Live.Any(l => name.StartsWith($"{NamePrefix}{l.Id}", StringComparison.Ordinal));
        }
        return !Directory.Exists($"/proc/{owner}");
    }

    private static void EnsureCleanupHandlers()
    {
        lock (LiveGate)
        {
            if (_signalRegistrations is not null) return;
            // Not cancelled: after the labs are gone the signal's default action (terminate) proceeds.
            _signalRegistrations =
            [
                PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
                PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal),
            ];
            AppDomain.CurrentDomain.ProcessExit += (_, _) => DisposeAllLive();
        }
    }

    private static void OnSignal(PosixSignalContext context)
    {
        bool any;
        lock (LiveGate) any = Live.Count > 0;
        if (!any) return;
        Interrupted = true;
        Console.Error.WriteLine($"{context.Signal}: removing the namespace lab...");
        DisposeAllLive();
    }

    public static void DisposeAllLive()
    {
        VpcLab[] labs;
        lock (LiveGate) labs = Live.ToArray();
        foreach (VpcLab lab in labs) lab.Dispose();
    }

    // ---------------------------------------------------------------- commands

    private void Ip(params string[] args) => Check(RunCommand(Tool("ip"), args, TimeSpan.FromSeconds(30)), "ip " + string.Join(' ', args));

    private static CommandResult Check(CommandResult r, string what)
    {
        if (r.ExitCode != 0) throw new InvalidOperationException($"lab: '{what}' failed ({r.ExitCode}): {r.Stderr.Trim()}");
        return r;
    }

    private static readonly Dictionary<string, string> ToolPaths = new();

    /// <summary>Absolute path of a system tool; sudo and CI environments often lack /usr/sbin in PATH.</summary>
    public static string Tool(string name)
    {
        lock (ToolPaths)
        {
            if (ToolPaths.TryGetValue(name, out string? p)) return p;
            string[] dirs = [.. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries), "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
            p = dirs.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists) ?? name;
            ToolPaths[name] = p;
            return p;
        }
    }

    public static CommandResult RunCommand(string file, IEnumerable<string> args, TimeSpan timeout, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) { p.StandardInput.Write(stdin); p.StandardInput.Close(); }
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            return new CommandResult(-1, stdout.Result, $"timed out after {timeout.TotalSeconds:0} s: {file} {string.Join(' ', args)}");
        }
        p.WaitForExit();
        return new CommandResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
