using NUnit.Framework;
using Multicast.Core.Config;
using Multicast.Core.Packets;

namespace Multicast.Tests.Admin;

/// <summary>Many admin commands at once, and commands and daemons killed with SIGKILL at random moments.</summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ConcurrencyTests
{
    private ConfigDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new ConfigDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    [Test]
    public void Parallel_joins_all_land()
    {
        const int n = 20;
        RunningTool[] runs = Enumerable.Range(1, n)
            .Select(i => AdminHarness.Start(_dir.Path, "multis_admin", ["-A", "-m", "224.1.2.3", "-j", $"10.0.0.{i}"]))
            .ToArray();
        foreach (RunningTool r in runs) r.Wait().AssertOk();
        var g = AdminHarness.ServerGroups(_dir.Path).Single();
        Assert.That(g.Members.Order(), Is.EquivalentTo(Enumerable.Range(1, n).Select(i => $"10.0.0.{i}")));
    }

    [Test]
    public void Parallel_joins_with_a_running_daemon_all_land_and_reach_it()
    {
        AdminHarness.RequireRoot();
        _dir.StartDaemon("multis");
        const int n = 20;
        RunningTool[] runs = Enumerable.Range(1, n)
            .Select(i => AdminHarness.Start(_dir.Path, "multis_admin", ["-A", "-m", $"224.1.2.{1 + i % 3}", "-j", $"10.0.1.{i}"]))
            .ToArray();
        foreach (RunningTool r in runs) r.Wait().AssertOk();
        var groups = AdminHarness.ServerGroups(_dir.Path);
        Assert.That(groups.SelectMany(g => g.Members), Is.EquivalentTo(Enumerable.Range(1, n).Select(i => $"10.0.1.{i}")));
        // The daemon's view (after the last reload) has every member too.
        int members = 0;
        foreach (var g in groups)
        {
            ToolResult stats = AdminHarness.Run(_dir.Path, "multis_admin", "-P", "-m", g.Group);
            stats.AssertOk();
            members += stats.Out.Split('\n').Count(l => l.StartsWith("member "));
        }
        Assert.That(members, Is.EqualTo(n));
    }

    [Test]
    public void Parallel_client_adds_all_land()
    {
        const int n = 20;
        RunningTool[] runs = Enumerable.Range(1, n)
            .Select(i => AdminHarness.Start(_dir.Path, "multic_admin", ["-A", "-i", $"10.0.0.{i}", "-p", "5000", "-m", "224.1.2.3"]))
            .ToArray();
        foreach (RunningTool r in runs) r.Wait().AssertOk();
        Assert.That(AdminHarness.ClientRoutes(_dir.Path).Select(r => r.Server),
            Is.EquivalentTo(Enumerable.Range(1, n).Select(i => $"10.0.0.{i}")));
    }

    /// <summary>
    /// Joins run in small parallel batches; some are SIGKILLed at a random moment, and now and then the daemon is
    /// SIGKILLed and restarted in the middle of a batch. Afterwards the file must be valid and hold every join that
    /// was acknowledged (exit 0); unacknowledged ones may or may not be there.
    /// </summary>
    [Test]
    public void Sigkill_of_commands_and_daemon_loses_no_acknowledged_change()
    {
        AdminHarness.RequireRoot();
        var random = new Random(TestContext.CurrentContext.Random.Next());
        Daemon daemon = _dir.StartDaemon("multis");
        var acknowledged = new List<string>();
        int killed = 0, batch = 0;
        string path = _dir.File("server_cfg.json.txt");
        for (int i = 0; i < 48; i += 4, batch++)
        {
            var runs = Enumerable.Range(i, 4).Select(k => (Member: $"10.2.{k / 200}.{1 + k % 200}",
                Run: AdminHarness.Start(_dir.Path, "multis_admin", ["-A", "-m", $"224.3.0.{1 + k % 2}", "-j", $"10.2.{k / 200}.{1 + k % 200}"])))
                .ToList();
            bool restartDaemon = batch % 3 == 2;
            // Kill moments spread over a command's whole life: start-up, waiting for the lock, writing, reloading.
            foreach (var (_, run) in runs.Where((_, idx) => idx % 2 == batch % 2))
            {
                Thread.Sleep(random.Next(0, 350));
                // Process.Kill (SIGKILL) knows whether the child was already reaped, so a recycled pid is never hit.
                try { run.Process.Kill(); killed++; } catch (InvalidOperationException) { }
            }
            if (restartDaemon) daemon.Kill();
            foreach (var (member, run) in runs)
            {
                ToolResult r = run.Wait();
                if (r.Exit == 0) acknowledged.Add(member);
            }
            if (restartDaemon) daemon = _dir.StartDaemon("multis");
            // Valid at every point, not only at the end.
            Assert.DoesNotThrow(() => ServerConfig.Load(path), $"after batch {batch}");
        }
        ServerConfig config = ServerConfig.Load(path);
        var present = config.Groups.SelectMany(g => g.Members).Select(IpAddressV4.Format).ToHashSet();
        Assert.That(acknowledged, Is.Not.Empty);
        Assert.That(killed, Is.GreaterThan(0));
        Assert.That(acknowledged.Where(m => !present.Contains(m)), Is.Empty, "acknowledged joins missing from the file");
        // The restarted daemon runs the file's state, and the lock is free again.
        AdminHarness.Run(_dir.Path, "multis_admin", "-A", "-m", "224.3.0.9", "-j", "10.9.9.9").AssertOk();
        AdminHarness.Run(_dir.Path, "multis_admin", "-P", "-m", "224.3.0.9").AssertOk();
        TestContext.Out.WriteLine($"{acknowledged.Count} acknowledged, {killed} killed, {present.Count} present");
    }
}
