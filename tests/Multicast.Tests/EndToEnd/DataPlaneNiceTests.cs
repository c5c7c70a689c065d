using Multicast.Cli;
using Multicast.Cli.Daemon;
using Multicast.Cli.Lab;
using Multicast.Linux;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>
/// The data-plane thread's priority: the ring engine runs at nice 0 and raises itself to -10 while a backlog drains;
/// engines without a ring run at -10; `--nice N` fixes the value, `--nice BASE:BOOST` sets both.
/// </summary>
[TestFixture]
public class DataPlaneNiceTests
{
    [Test]
    public void NiceIsParsedAndChecked()
    {
        Assert.That(DaemonOptions.Parse(["-R"]).Nice, Is.Null);
        Assert.That(DaemonOptions.Parse(["-R"]).StartingNice, Is.EqualTo(-10), "the daemon starts its thread at the boost");
        Assert.That(DaemonOptions.Parse(["-R", "--nice", "5"]).Nice, Is.EqualTo(DataPlanePriority.Fixed(5)));
        Assert.That(DaemonOptions.Parse(["-R", "--nice", "5"]).StartingNice, Is.EqualTo(5));
        Assert.That(DaemonOptions.Parse(["-R", "--nice=-20"]).Nice, Is.EqualTo(DataPlanePriority.Fixed(-20)));
        Assert.That(DaemonOptions.Parse(["-R", "--nice", "2:-5"]).Nice, Is.EqualTo(new DataPlanePriority(2, -5)));
        Assert.Throws<UsageException>(() => DaemonOptions.Parse(["-R", "--nice", "20"]));
        Assert.Throws<UsageException>(() => DaemonOptions.Parse(["-R", "--nice", "low"]));
        Assert.That(() => DaemonOptions.Parse(["-R", "--nice", "-10:0"]),
            Throws.TypeOf<UsageException>().With.Message.StartsWith("option --nice: ").And.Message.Contains("at or below the base"));
        Assert.That(DaemonOptions.IsDaemonOption("--nice"), Is.True, "the admin tools hand it to the daemon");
    }

    [Test]
    [Category("EndToEnd")]
    public void TheDataPlaneThreadRunsAtTheGivenNiceValue()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        string config = E2e.GroupToAllMembers(lab);

        LabDaemon byDefault = lab.StartServer(lab.Source, "socket", config);
        try { Assert.That(() => ThreadNices(byDefault.Process.Id), Does.Contain(-10).After(5000, 50)); }
        finally { byDefault.Stop(); }

        LabDaemon yielding = lab.StartServer(lab.Source, "socket", config, null, "--nice", "7");
        try
        {
            Assert.That(() => ThreadNices(yielding.Process.Id), Does.Contain(7).After(5000, 50));
            Assert.That(ThreadNices(yielding.Process.Id), Does.Not.Contain(-10));
        }
        finally { yielding.Stop(); }
    }

    [Test]
    [Category("EndToEnd")]
    public void TheRingThreadRaisesItsPriorityOnlyWhileABacklogDrains()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        string config = E2e.GroupToAllMembers(lab);

        LabDaemon byDefault = lab.StartServer(lab.Source, "ring", config);
        try
        {
            Assert.That(() => E2e.ServerLog(byDefault), Does.Contain("nice 0, -10 while a backlog drains").After(5000, 50));
            // The daemon starts the thread at the boost; the ring loop drops it to the base before the first walk. Its
            // standby stays at the boost: it must get a CPU the moment it wakes (see StandbyLoop).
            Assert.That(() => ThreadNices(byDefault.Process.Id), Does.Not.Contain(-10).After(5000, 50));
            Assert.That(ThreadNices(byDefault.Process.Id, StandbyThread), Is.EqualTo(new[] { -10 }));
            Assert.That(byDefault.Counter("priority_boosts"), Is.Zero, "no traffic, no backlog");

            // An unpaced sender outruns the fan-out, so a burst leaves a backlog in the ring; a machine fast enough to
            // keep up with one burst gets two more before the test calls it a failure.
            for (int burst = 0; burst < 3 && byDefault.Counter("priority_boosts") == 0; burst++)
            {
                E2e.UnpacedBurst(lab, BurstCount);
                Thread.Sleep(1500); // the stats file is rewritten every second
            }
            Assert.That(byDefault.Counter("priority_boosts"), Is.GreaterThan(0), "a backlog raised the thread's priority");
            Assert.That(() => ThreadNices(byDefault.Process.Id), Does.Not.Contain(-10).After(5000, 50),
                "with the ring drained and the loop parked, the thread is back at the base");
        }
        finally { byDefault.Stop(); }

        LabDaemon pinned = lab.StartServer(lab.Source, "ring", config, null, "--nice", "-10");
        try
        {
            Assert.That(() => E2e.ServerLog(pinned), Does.Contain("ring engine, idle adaptive:100, nice -10").After(5000, 50));
            E2e.UnpacedBurst(lab, BurstCount);
            // An unpaced burst can overrun the bounded RX ring on a busy machine: every datagram is either forwarded or
            // counted as dropped, never lost silently (one member, so one copy per datagram).
            IReadOnlyDictionary<string, long> after = pinned.WaitForCounters(c => E2e.CopiesAccounted(c) >= BurstCount, TimeSpan.FromSeconds(10));
            Assert.That(E2e.CopiesAccounted(after), Is.EqualTo(BurstCount), string.Join(", ", after.Select(kv => $"{kv.Key}={kv.Value}")));
            Assert.That(after["copies_sent"], Is.GreaterThan(BurstCount / 2), "the burst was forwarded, not mostly dropped");
            Assert.That(ThreadNices(pinned.Process.Id), Does.Contain(-10), "a fixed value stays");
            Assert.That(pinned.Counter("priority_boosts"), Is.Zero, "a fixed value never switches");
        }
        finally { pinned.Stop(); }
    }

    private const int BurstCount = 20000;

    private const string StandbyThread = "ring standby";

    /// <summary>
    /// The nice value of each thread but the ring server's standby, or of the thread named <paramref name="only"/>:
    /// field 19 of /proc/PID/task/TID/stat, counted after the command name.
    /// </summary>
    private static List<int> ThreadNices(int pid, string? only = null)
    {
        var nices = new List<int>();
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                string name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                if (only is null ? name == StandbyThread : name != only) continue;
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                nices.Add(int.Parse(fields[16]));
            }
            catch (IOException) { } // the thread ended meanwhile
        }
        return nices;
    }
}
