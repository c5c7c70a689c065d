using System.Net;
using Multicast.Cli;
using Multicast.Cli.Daemon;
using Multicast.Cli.Lab;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>The data-plane thread's priority: nice -10 unless `--nice N` says otherwise.</summary>
[TestFixture]
public class DataPlaneNiceTests
{
    [Test]
    public void NiceIsParsedAndChecked()
    {
        Assert.That(DaemonOptions.Parse(["-R"]).Nice, Is.Null);
        Assert.That(DaemonOptions.Parse(["-R", "--nice", "5"]).Nice, Is.EqualTo(5));
        Assert.That(DaemonOptions.Parse(["-R", "--nice=-20"]).Nice, Is.EqualTo(-20));
        Assert.Throws<UsageException>(() => DaemonOptions.Parse(["-R", "--nice", "20"]));
        Assert.Throws<UsageException>(() => DaemonOptions.Parse(["-R", "--nice", "low"]));
        Assert.That(DaemonOptions.IsDaemonOption("--nice"), Is.True, "the admin tools hand it to the daemon");
    }

    [Test]
    [Category("EndToEnd")]
    public void TheDataPlaneThreadRunsAtTheGivenNiceValue()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        string config = LabConfig.Server(IPAddress.Parse("224.1.2.3"), 5000, 0, lab.Members.Select(m => m.Address));

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

    /// <summary>Each thread's nice value: field 19 of /proc/PID/task/TID/stat, counted after the command name.</summary>
    private static List<int> ThreadNices(int pid)
    {
        var nices = new List<int>();
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                nices.Add(int.Parse(fields[16]));
            }
            catch (IOException) { } // the thread ended meanwhile
        }
        return nices;
    }
}
