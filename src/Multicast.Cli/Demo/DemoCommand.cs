using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Multicast.Cli.Lab;
using Multicast.Cli.Tools;
using Multicast.Core.Engines;
using Multicast.Linux;

namespace Multicast.Cli.Demo;

/// <summary>
/// `multicast demo`: builds a throwaway namespace VPC (source + members behind a bridge that drops multicast), shows
/// that multicast does not cross it, then runs the proxy and streams through it, and removes everything it created.
/// </summary>
public static class DemoCommand
{
    private const string Usage = "multicast demo [--engine ring|socket|pcap] [--count N=10000] [--rate PER_SEC=5000] [--size BYTES=256] [--members N=3]";

    public static int Run(string[] args)
    {
        if (args.Any(a => a is "-h" or "--help")) { Console.Out.WriteLine(Usage); return 0; }
        // The traffic tools' parser: a mistyped flag is called unknown, a known one without its value says so.
        var options = new ToolArgs(args, new HashSet<string>());
        string engine = options.String("engine") ?? EngineNames.Ring;
        if (!EngineFactory.ServerEngines.Contains(engine))
            throw new UsageException($"--engine must be {string.Join(", ", EngineFactory.ServerEngines[..^1])} or {EngineFactory.ServerEngines[^1]}");
        long count = options.Long("count", 10_000, 1, 10_000_000);
        double rate = options.Long("rate", 5_000, 1, 1_000_000);
        long size = options.Long("size", 256, 24, 8_972);
        long members = options.Long("members", 3, 1, 20);
        options.RejectUnknown();
        if (!OperatingSystem.IsLinux()) { Console.Error.WriteLine("error: multicast demo needs Linux (network namespaces)"); return 1; }
        if (!VpcLab.IsRoot) { Console.Error.WriteLine("error: multicast demo needs root to create network namespaces; run: sudo multicast demo"); return 1; }

        try
        {
            return RunDemo(engine, count, rate, size, members);
        }
        catch (Exception) when (VpcLab.Interrupted)
        {
            // The signal handler has removed the lab; the failure is only its processes vanishing under us.
            Console.Error.WriteLine("interrupted: the lab was removed");
            return 130;
        }
    }

    private static int RunDemo(string engine, long count, double rate, long size, long members)
    {
        IReadOnlyList<string> stale = VpcLab.CleanupLeftovers();
        if (stale.Count > 0) Say($"removed {stale.Count} leftovers of an earlier interrupted lab");

        var group = IPAddress.Parse("224.1.2.3");
        const int port = 5000;
        Say("building the lab (network namespaces; Ctrl-C removes everything)...");
        using VpcLab lab = VpcLab.Create((int)members, 0, log: Say);
        Say($"  bridge {lab.BridgeNamespace}: nftables drops 224.0.0.0/4 like a cloud VPC");
        Say($"  source {lab.Source.Address}, members {string.Join(", ", lab.Members.Select(m => m.Address))}");

        // 1. No proxy: the VPC eats multicast.
        Say("");
        Say($"step 1: {group}:{port} without the proxy");
        long dropsBefore = lab.BridgeMulticastDrops();
        List<JsonObject> baseline = Stream(lab, group, port, 500, 5_000, size, idleMs: 1_500);
        long dropped = lab.BridgeMulticastDrops() - dropsBefore;
        foreach ((LabHost m, JsonObject r) in lab.Members.Zip(baseline))
            Say($"  {m.Name} {m.Address}: received {r["received"]} of 500");
        Say($"  the bridge dropped {dropped} multicast packets");

        // 2. With the proxy.
        Say("");
        Say($"step 2: starting multis on the source and multic on {members} members (engine {engine})");
        (LabDaemon server, List<LabDaemon> clients, string usedEngine) = StartProxy(lab, engine, group, port);
        Say($"step 3: streaming {count} datagrams of {size} bytes at {rate}/s");
        List<JsonObject> results = Stream(lab, group, port, count, rate, size, idleMs: 3_000);

        Say("");
        Say($"{"member",-8} {"address",-15} {"received",9} {"lost",6} {"dup",5} {"corrupt",7} {"p50 µs",9} {"p99 µs",9}  sender");
        bool ok = true;
        foreach ((LabHost m, JsonObject r) in lab.Members.Zip(results))
        {
            long received = (long)r["unique"]!, lost = (long)r["lost"]!, dup = (long)r["duplicates"]!, corrupt = (long)r["corrupt"]!;
            ok &= received == count && dup == 0 && corrupt == 0;
            string p50 = r["latency_us"]?["p50"]?.ToString() ?? "-", p99 = r["latency_us"]?["p99"]?.ToString() ?? "-";
            string sender = r["sources"] is JsonArray s && s.Count > 0 ? string.Join(",", s.Select(x => x!["address"]!.ToString())) : "-";
            Say($"{m.Name,-8} {m.Address,-15} {received,9} {lost,6} {dup,5} {corrupt,7} {p50,9} {p99,9}  {sender}");
        }
        // Stopped first: the daemons rewrite their stats file at exit, so the counters below are final.
        server.Stop();
        foreach (LabDaemon c in clients) c.Stop();
        Say($"server counters: {Counters(server)}");
        if (Hop(server) is JsonObject hop)
            Say($"the server held each datagram p50 {hop["p50"]} µs, p99 {hop["p99"]} µs, max {hop["max"]} µs from capture to the " +
                "transmit call of its copies (hop_latency_us; multis_admin -P on a real host)");
        foreach (LabDaemon c in clients) Say($"{c.Host.Name} client counters: {Counters(c)}");
        Say("");
        Say(ok ? $"every member got all {count} datagrams through the proxy (engine {usedEngine})" : "some datagrams were lost, duplicated or corrupted (see the table)");
        Say("removing the lab...");
        return ok ? 0 : 1;
    }

    private static (LabDaemon, List<LabDaemon>, string) StartProxy(VpcLab lab, string engine, IPAddress group, int port)
    {
        try
        {
            return StartProxyWith(lab, engine, group, port);
        }
        catch (Exception e) when (engine == "ring" && e is InvalidOperationException or TimeoutException)
        {
            Say($"  the ring engine did not start ({FirstLine(e.Message)}); falling back to --engine socket");
            return StartProxyWith(lab, "socket", group, port);
        }
    }

    private static (LabDaemon, List<LabDaemon>, string) StartProxyWith(VpcLab lab, string engine, IPAddress group, int port)
    {
        var clients = new List<LabDaemon>();
        LabDaemon? server = null;
        try
        {
            server = lab.StartServer(lab.Source, engine, LabConfig.Server(group, port, 0, lab.Members.Select(m => m.Address)));
            foreach (LabHost m in lab.Members)
                clients.Add(lab.StartClient(m, engine, LabConfig.Client(lab.Source.Address, port, group, port)));
            return (server, clients, engine);
        }
        catch
        {
            server?.Stop();
            foreach (LabDaemon c in clients) c.Stop();
            throw;
        }
    }

    private static List<JsonObject> Stream(VpcLab lab, IPAddress group, int port, long count, double rate, long size, int idleMs)
    {
        var receivers = lab.Members.Select(m => lab.StartReceiver(m, "--group", group.ToString(), "--port", port.ToString(),
            "--interface-ip", m.Address.ToString(), "--expect", count.ToString(), "--idle-ms", idleMs.ToString(),
            "--timeout-ms", ((long)(count / rate * 1000) + 30_000).ToString())).ToList();
        LabProcess sender = lab.StartTool(lab.Source, "send", "--group", group.ToString(), "--port", port.ToString(),
            "--count", count.ToString(), "--rate", rate.ToString(CultureInfo.InvariantCulture), "--size", size.ToString(),
            "--interface-ip", lab.Source.Address.ToString());
        TimeSpan wait = TimeSpan.FromSeconds(count / rate + 60);
        sender.WaitForJsonResult(wait);
        return receivers.Select(r => r.WaitForJsonResult(wait)).ToList();
    }

    private static string Counters(LabDaemon d)
    {
        IReadOnlyDictionary<string, long> c = d.ReadCounters();
        return c.Count == 0 ? "(no stats file)" : string.Join(", ", c.Where(kv => kv.Value != 0).Select(kv => $"{kv.Key}={kv.Value}"));
    }

    /// <summary>The server's own hop since start, from its final stats file (it rewrites it at exit).</summary>
    private static JsonObject? Hop(LabDaemon d)
    {
        try { return JsonNode.Parse(File.ReadAllText(d.StatsFile))?["hop_latency_us"] as JsonObject; }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException) { return null; }
    }

    private static string FirstLine(string s) => s.Split('\n')[0];

    private static void Say(string line) => Console.Out.WriteLine(line);
}
