using Multicast.Cli;
using Multicast.Cli.Daemon;
using Multicast.Cli.Lab;
using Multicast.Linux.Ring;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>The ring's idle strategy as a user sets it: `--idle`, adaptive for the server unless told otherwise.</summary>
[TestFixture]
public class DataPlaneIdleTests
{
    [Test]
    public void IdleIsParsedAndChecked()
    {
        Assert.That(DaemonOptions.Parse(["-R"]).Idle, Is.Null, "no option: the engine's own default");
        Assert.That(DaemonOptions.Parse(["-R", "--idle", "adaptive:50"]).Idle, Is.EqualTo(new IdleStrategy(IdleMode.Adaptive, 50)));
        Assert.That(DaemonOptions.Parse(["-R", "--idle=park"]).Idle, Is.EqualTo(IdleStrategy.Park));
        Assert.That(() => DaemonOptions.Parse(["-R", "--idle", "eager"]),
            Throws.TypeOf<UsageException>().With.Message.Contains("adaptive, spin, yield or park"));
    }

    [Test]
    [Category("EndToEnd")]
    public void TheRingServerStartsAdaptiveUnlessToldOtherwise()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        string config = E2e.GroupToAllMembers(lab);

        LabDaemon byDefault = lab.StartServer(lab.Source, "ring", config);
        try { Assert.That(() => E2e.ServerLog(byDefault), Does.Contain("idle adaptive:100").After(5000, 50)); }
        finally { byDefault.Stop(); }

        LabDaemon parking = lab.StartServer(lab.Source, "ring", config, null, "--idle", "park");
        try
        {
            Assert.That(() => E2e.ServerLog(parking), Does.Contain("ring engine, idle park").After(5000, 50));
            Assert.That(E2e.ServerLog(parking), Does.Not.Contain("idle adaptive"));
        }
        finally { parking.Stop(); }
    }
}
