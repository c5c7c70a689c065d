using System.Text.Json.Nodes;
using Multicast.Cli.Lab;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>Shared helpers for tests that build a namespace lab.</summary>
public static class E2e
{
    /// <summary>
    /// The lab needs root (namespaces, veth, nftables). CI runs as root; a developer running `dotnet test` unprivileged
    /// gets these tests reported as ignored with the reason, never as passed.
    /// </summary>
    public static void RequireRoot()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("end-to-end tests need Linux network namespaces");
        if (!VpcLab.IsRoot) Assert.Ignore("end-to-end tests need root (network namespaces, veth, nftables); run ./build.sh test as root");
    }

    public static VpcLab CreateLab(int members, int nonMembers)
    {
        RequireRoot();
        VpcLab.CleanupLeftovers();
        return VpcLab.Create(members, nonMembers, log: line => TestContext.Progress.WriteLine(line));
    }

    /// <summary>The server config most data-plane tests run with: group 224.1.2.3:5000 to every member of the lab.</summary>
    public static string GroupToAllMembers(VpcLab lab) =>
        LabConfig.Server(System.Net.IPAddress.Parse("224.1.2.3"), 5000, 0, lab.Members.Select(m => m.Address));

    /// <summary>
    /// Sends <paramref name="count"/> 64-byte datagrams to 224.1.2.3:5000 from the lab's source as fast as the sender
    /// can: far faster than a fan-out drains, so the proxy's capture queue fills.
    /// </summary>
    public static void UnpacedBurst(VpcLab lab, int count)
    {
        LabProcess sender = lab.StartTool(lab.Source, "send", "--group", "224.1.2.3", "--port", "5000", "--count", count.ToString(),
            "--rate", "0", "--size", "64", "--interface-ip", lab.Source.Address.ToString());
        JsonObject r = sender.WaitForJsonResult(TimeSpan.FromSeconds(30));
        Assert.That(Long(r, "sent"), Is.EqualTo(count), r.ToJsonString());
    }

    /// <summary>
    /// A one-member server's account of every datagram: its copy sent, dropped at the TX ring, or dropped by the
    /// kernel at the capture queue (counted there too), never lost silently.
    /// </summary>
    public static long CopiesAccounted(IReadOnlyDictionary<string, long> counters) =>
        counters.GetValueOrDefault("copies_sent") + counters.GetValueOrDefault("copies_dropped_tx_full") + counters.GetValueOrDefault("capture_drops");

    public static long Long(JsonObject o, string key) => o[key]?.GetValue<long>() ?? throw new AssertionException($"result has no '{key}': {o.ToJsonString()}");

    /// <summary>The (address:port → count) pairs a receiver saw.</summary>
    public static Dictionary<string, long> Sources(JsonObject r) =>
        r["sources"]!.AsArray().ToDictionary(s => s!["address"]!.GetValue<string>(), s => s!["count"]!.GetValue<long>());

    /// <summary>A server daemon's log file so far ("" before it exists).</summary>
    public static string ServerLog(LabDaemon d)
    {
        string path = Path.Combine(d.ConfigDir, "server_log.txt");
        try { return File.Exists(path) ? File.ReadAllText(path) : ""; }
        catch (IOException) { return ""; }
    }

    /// <summary>Everything a harness needs to explain a failure: the lab's kernel drop counters, the daemons' stderr and counters.</summary>
    public static void Report(VpcLab lab, IEnumerable<LabDaemon> daemons)
    {
        foreach (string line in lab.KernelDrops()) TestContext.Out.WriteLine($"kernel drops, {line}");
        foreach (LabDaemon d in daemons)
        {
            var counters = d.ReadCounters();
            TestContext.Out.WriteLine($"{d}: running={d.IsRunning} counters={string.Join(", ", counters.Select(kv => $"{kv.Key}={kv.Value}"))}");
            string err = d.Process.Stderr.Trim();
            if (err.Length > 0) TestContext.Out.WriteLine($"{d} stderr:\n{err}");
        }
    }
}
