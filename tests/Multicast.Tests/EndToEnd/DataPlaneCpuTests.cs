using Multicast.Cli;
using Multicast.Cli.Bench;
using Multicast.Cli.Daemon;
using Multicast.Cli.Lab;
using Multicast.Linux;
using Multicast.Tests.Admin;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>`--cpu LIST`: the data-plane thread, and only it, pinned to the CPUs given.</summary>
[TestFixture]
public class DataPlaneCpuTests
{
    [Test]
    public void CpuListsAreParsedInTheKernelsNotation()
    {
        Assert.That(DaemonOptions.Parse(["-R"]).Cpus, Is.Null, "not pinned by default");
        Assert.That(DaemonOptions.Parse(["-R", "--cpu", "1"]).Cpus!.Cpus, Is.EqualTo(new[] { 1 }));
        Assert.That(DaemonOptions.Parse(["-R", "--cpu=6-7,0,2-3,3"]).Cpus!.Cpus, Is.EqualTo(new[] { 0, 2, 3, 6, 7 }), "sorted, once each");
        Assert.That(DaemonOptions.Parse(["-R", "--cpu", "0,2-3,6-7"]).Cpus!.ToString(), Is.EqualTo("0,2-3,6-7"));
        foreach (string bad in new[] { "", "x", "3-1", "1-2-3", "-1", "1,", "1024", "+1" })
            Assert.That(() => DaemonOptions.Parse(["-R", "--cpu", bad]),
                Throws.TypeOf<UsageException>().With.Message.StartsWith($"option --cpu: '{bad}' is not a CPU list"), bad);
        Assert.That(DaemonOptions.IsDaemonOption("--cpu"), Is.True, "the admin tools hand it to the daemon");
    }

    [Test]
    public void ACpuThisProcessCannotHave_IsNamed()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("affinity masks are Linux's");
        IReadOnlyList<int> allowed = ThreadScheduling.AllowedCpus();
        Assert.That(allowed, Is.Not.Empty);
        Assert.That(new DataPlaneCpus(allowed).Problem(), Is.Null);
        Assert.That(new DataPlaneCpus([allowed[0], 1023]).Problem(),
            Is.EqualTo($"CPU 1023 is not available to this process (it may run on {DataPlaneCpus.Format(allowed)})"));
    }

    [Test]
    [Category("EndToEnd")]
    public void TheDataPlaneThreadAlone_RunsOnTheGivenCpu()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        string config = E2e.GroupToAllMembers(lab);
        IReadOnlyList<int> allowed = ThreadScheduling.AllowedCpus();
        int cpu = allowed[^1];

        // The socket engine's data-plane thread is the one at nice -10: that is how the test tells it from the rest.
        LabDaemon pinned = lab.StartServer(lab.Source, "socket", config, null, "--cpu", cpu.ToString());
        try
        {
            Assert.That(() => E2e.ServerLog(pinned), Does.Contain($"data-plane thread pinned to CPU {cpu}").After(5000, 50));
            List<(int Nice, string Cpus)> threads = Threads(pinned.Process.Id);
            Assert.That(threads.Where(t => t.Nice == -10).Select(t => t.Cpus), Is.EqualTo(new[] { cpu.ToString() }), string.Join("; ", threads));
            if (allowed.Count > 1)
                Assert.That(threads.Where(t => t.Nice != -10).Select(t => t.Cpus).Distinct(), Is.EqualTo(new[] { DataPlaneCpus.Format(allowed) }),
                    "the daemon's other threads are not pinned");
        }
        finally { pinned.Stop(); }
    }

    [Test]
    [Category("EndToEnd")]
    public void ACpuTheDaemonCannotHave_StopsItWithOneLine()
    {
        AdminHarness.RequireRoot();
        using var dir = new ConfigDir();
        ToolResult r = dir.Run("multis_admin", "-R", "--interface", "lo", "--engine", "socket", "--cpu", "1023");
        r.AssertOneLineError("--cpu 1023: CPU 1023 is not available to this process");
        Assert.That(r.Out, Does.Not.Contain("multis started"), "refused before it opened anything");
        Assert.That(File.Exists(dir.File("multis.pid")), Is.False, "it never said it was ready");
        dir.Run("multic_admin", "-R", "--interface", "lo", "--engine", "socket", "--cpu", "1022-1023")
            .AssertOneLineError("--cpu 1022-1023: CPUs 1022, 1023 are not available to this process");
    }

    [Test]
    public void TheSendTool_PinsItsThreadOrSaysWhyNot()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("affinity masks are Linux's");
        using var dir = new ConfigDir();
        string cpu = ThreadScheduling.AllowedCpus()[^1].ToString();
        ToolResult sent = dir.Run("multicast", "tool", "send", "--group", "224.1.2.3", "--port", "5000", "--count", "3",
            "--interface-ip", "127.0.0.1", "--cpu", cpu);
        Assert.That(sent.Exit, Is.Zero, sent.ToString());
        Assert.That(sent.Out, Does.Contain("\"sent\":3"), sent.ToString());
        ToolResult refused = dir.Run("multicast", "tool", "send", "--group", "224.1.2.3", "--port", "5000", "--count", "3",
            "--interface-ip", "127.0.0.1", "--cpu", "1023");
        refused.AssertOneLineError("CPU 1023 is not available to this process");
        Assert.That(refused.Out, Is.Empty, "nothing was sent");
    }

    [Test]
    public void TheBench_PinsTheDaemonsAndTheSenderWhereAsked()
    {
        BenchOptions o = BenchOptions.Parse(["--cpu", "1", "--sender-cpu", "0"]);
        Assert.That(o.DaemonArgs(), Is.EqualTo(new[] { "--cpu", "1" }));
        Assert.That(o.SenderCpus, Is.EqualTo("0"));
        Assert.That(() => BenchOptions.Parse(["--sender-cpu", "first"]),
            Throws.TypeOf<UsageException>().With.Message.StartsWith("option --sender-cpu: 'first' is not a CPU list"));
    }

    /// <summary>Each thread's nice value (field 19 of its stat) and Cpus_allowed_list.</summary>
    private static List<(int Nice, string Cpus)> Threads(int pid)
    {
        var threads = new List<(int, string)>();
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                int nice = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16]);
                string cpus = File.ReadLines(Path.Combine(task, "status")).First(l => l.StartsWith("Cpus_allowed_list:"))["Cpus_allowed_list:".Length..].Trim();
                threads.Add((nice, cpus));
            }
            catch (IOException) { } // a thread that ended meanwhile
        }
        return threads;
    }
}
