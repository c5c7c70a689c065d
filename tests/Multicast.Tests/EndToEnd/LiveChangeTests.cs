using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Multicast.Cli.Lab;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>
/// Configuration changes made with the admin CLI while traffic flows: they reach the running server through its
/// control socket, and the groups a change does not touch lose and duplicate nothing.
/// </summary>
[TestFixture("ring")]
[TestFixture("pcap")]
[TestFixture("socket")]
[Category("EndToEnd")]
public class LiveChangeTests(string engine)
{
    private static readonly IPAddress Steady = IPAddress.Parse("224.1.2.3");
    private static readonly IPAddress Changing = IPAddress.Parse("224.1.2.4");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private VpcLab _lab = null!;
    private readonly List<LabDaemon> _daemons = new();

    [OneTimeSetUp]
    public void BuildLab() => _lab = E2e.CreateLab(members: 3, nonMembers: 0);

    [OneTimeTearDown]
    public void RemoveLab() => _lab?.Dispose();

    [TearDown]
    public void Stop()
    {
        bool failed = TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed;
        foreach (LabDaemon d in _daemons) d.Stop();
        if (failed) E2e.Report(_lab, _daemons);
        _daemons.Clear();
    }

    [Test]
    public void AdminChangesUnderTraffic_LeaveUntouchedGroupsWhole()
    {
        const int steadyPort = 5400, changingPort = 5401, count = 10_000, rate = 2_000;
        LabHost source = _lab.Source;
        IReadOnlyList<LabHost> members = _lab.Members;
        LabHost flapping = members[^1];

        LabDaemon server = _lab.StartServer(source, engine, LabConfig.Server(
        [
            (Steady, steadyPort, 0, members.Select(m => m.Address)),
            (Changing, changingPort, 0, members.Select(m => m.Address)),
        ]));
        _daemons.Add(server);
        foreach (LabHost m in members)
            _daemons.Add(_lab.StartClient(m, engine, ClientConfig(source.Address, (steadyPort, Steady), (changingPort, Changing))));

        var steadyReceivers = members.Select(m => Receiver(m, Steady, steadyPort, count)).ToList();
        var changingReceivers = members.Select(m => Receiver(m, Changing, changingPort, count)).ToList();

        LabProcess steadySender = Sender(source, Steady, steadyPort, count, rate, 42400);
        LabProcess changingSender = Sender(source, Changing, changingPort, count, rate, 42401);

        // While both streams run: one member leaves and rejoins the other group, and a third group comes and goes.
        int changes = 0;
        var clock = Stopwatch.StartNew();
        while (!steadySender.HasExited && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            Admin(server, "-A", "-m", Changing.ToString(), "-q", flapping.Address.ToString());
            Admin(server, "-A", "-m", "224.1.2.9", "-j", members[0].Address.ToString());
            Admin(server, "-A", "-m", Changing.ToString(), "-j", flapping.Address.ToString());
            Admin(server, "-D", "-m", "224.1.2.9");
            changes += 4;
        }
        Assert.That(changes, Is.GreaterThanOrEqualTo(4), "the changes should overlap the stream");
        steadySender.WaitForJsonResult(Wait);
        changingSender.WaitForJsonResult(Wait);

        string log = Path.Combine(server.ConfigDir, "server_log.txt");
        TestContext.Out.WriteLine($"{changes} changes; server log:\n{(File.Exists(log) ? File.ReadAllText(log) : "(none)")}");
        string steadyFrom = $"{source.Address}:42400";
        for (int i = 0; i < members.Count; i++)
        {
            JsonObject r = steadyReceivers[i].WaitForJsonResult(Wait);
            string all = $"{members[i].Name} on the untouched group after {changes} changes: {r.ToJsonString()}";
            Assert.Multiple(() =>
            {
                Assert.That(E2e.Long(r, "unique"), Is.EqualTo(count), all);
                Assert.That(E2e.Long(r, "duplicates"), Is.Zero, all);
                Assert.That(E2e.Long(r, "corrupt"), Is.Zero, all);
                Assert.That(E2e.Sources(r), Is.EquivalentTo(new Dictionary<string, long> { [steadyFrom] = count }), all);
            });
        }
        for (int i = 0; i < members.Count; i++)
        {
            JsonObject r = changingReceivers[i].WaitForJsonResult(Wait);
            string all = $"{members[i].Name} on the changing group: {r.ToJsonString()}";
            Assert.That(E2e.Long(r, "duplicates"), Is.Zero, all);
            Assert.That(E2e.Long(r, "corrupt"), Is.Zero, all);
            if (members[i] == flapping)
                Assert.That(E2e.Long(r, "unique"), Is.GreaterThan(0).And.LessThan(count), "the flapping member misses what was sent while it was out: " + all);
            else
                Assert.That(E2e.Long(r, "unique"), Is.EqualTo(count), "members the change never touched: " + all);
        }
        // The final state is what the last acknowledged command said.
        string final = File.ReadAllText(Path.Combine(server.ConfigDir, "server_cfg.json.txt"));
        Assert.That(final, Does.Contain(flapping.Address.ToString()).And.Not.Contain("224.1.2.9"));
    }

    private LabProcess Receiver(LabHost host, IPAddress group, int port, int expect) =>
        _lab.StartReceiver(host, "--group", group.ToString(), "--port", port.ToString(), "--interface-ip", host.Address.ToString(),
            "--expect", expect.ToString(), "--timeout-ms", "60000", "--idle-ms", "3000");

    private LabProcess Sender(LabHost host, IPAddress group, int port, int count, int rate, int sourcePort) =>
        _lab.StartTool(host, "send", "--group", group.ToString(), "--port", port.ToString(), "--count", count.ToString(),
            "--rate", rate.ToString(), "--size", "200", "--interface-ip", host.Address.ToString(), "--source-port", sourcePort.ToString());

    /// <summary>Runs multis_admin against the daemon's directory; every change must be acknowledged (exit 0).</summary>
    private void Admin(LabDaemon server, params string[] args)
    {
        var psi = new ProcessStartInfo(_lab.Binaries.Multicast) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["--as", "multis_admin", .. args]) psi.ArgumentList.Add(a);
        psi.Environment["MULTICAST_CONFIG_DIR"] = server.ConfigDir;
        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        Assert.That(p.WaitForExit(30_000), Is.True, "multis_admin hung");
        Assert.That(p.ExitCode, Is.Zero, $"multis_admin {string.Join(' ', args)}: {output}");
        Assert.That(output, Does.Not.Contain("not running").And.Not.Contain("Usage"), "the change must reach the running daemon");
    }

    private static string ClientConfig(IPAddress server, params (int Port, IPAddress Group)[] routes)
    {
        var array = new JsonArray();
        foreach ((int port, IPAddress group) in routes)
            array.Add(new JsonObject { ["server_ip"] = server.ToString(), ["server_port"] = port, ["group_ip"] = group.ToString(), ["group_port"] = port });
        return new JsonObject { ["multi_server_info_array"] = array }.ToJsonString();
    }
}
