using System.Net;
using System.Text.Json.Nodes;
using Multicast.Cli.Lab;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>
/// An interface goes down and comes back (a NIC reset, an operator's `ip link set down`), the source's or a member's:
/// the daemon on it keeps running and forwards again, with nothing lost once the link is up, on every engine.
/// </summary>
[TestFixture("ring")]
[TestFixture("socket")]
[TestFixture("pcap")]
[Category("EndToEnd")]
public class LinkFlapTests(string engine)
{
    private const int GroupPort = 5000, ServerPort = 7000, Count = 300;

    [Test]
    public void AfterTheInterfaceWentDownAndUp_TheServerForwardsEveryDatagramAgain()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        LabHost member = lab.Members[0];
        LabDaemon server = lab.StartServer(lab.Source, engine,
            LabConfig.Server(IPAddress.Parse("224.1.2.3"), GroupPort, ServerPort, [member.Address]));
        try
        {
            Assert.That(SendAndReceive(lab, member), Is.EqualTo(Count), "before the flap");
            lab.Exec(lab.Source, VpcLab.Tool("ip"), "link", "set", lab.Source.Interface, "down");
            Thread.Sleep(1500); // the data plane sees the link gone for a while (poll errors, failed kicks)
            lab.Exec(lab.Source, VpcLab.Tool("ip"), "link", "set", lab.Source.Interface, "up");
            Thread.Sleep(500);
            Assert.That(server.IsRunning, Is.True, "the server survived the link going down");
            Assert.That(SendAndReceive(lab, member), Is.EqualTo(Count), "after the flap");
        }
        catch
        {
            E2e.Report(lab, [server]);
            throw;
        }
        finally { server.Stop(); }
    }

    [Test]
    public void AfterAMembersInterfaceWentDownAndUp_ItsClientDeliversAgain()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        LabHost member = lab.Members[0];
        var group = IPAddress.Parse("224.1.2.3");
        LabDaemon server = lab.StartServer(lab.Source, engine, LabConfig.Server(group, GroupPort, 0, [member.Address]));
        LabDaemon client = lab.StartClient(member, engine, LabConfig.Client(lab.Source.Address, GroupPort, group, GroupPort));
        try
        {
            Assert.That(SendAndReceive(lab, member, joined: true), Is.EqualTo(Count), "before the flap");
            lab.Exec(member, VpcLab.Tool("ip"), "link", "set", member.Interface, "down");
            Thread.Sleep(1500);
            lab.Exec(member, VpcLab.Tool("ip"), "link", "set", member.Interface, "up");
            Thread.Sleep(500);
            Assert.That(client.IsRunning, Is.True, "the client survived its link going down");
            Assert.That(SendAndReceive(lab, member, joined: true), Is.EqualTo(Count), "after the flap");
        }
        catch
        {
            E2e.Report(lab, [server, client]);
            throw;
        }
        finally
        {
            client.Stop();
            server.Stop();
        }
    }

    [Test]
    public void AnInterfaceThatIsDeleted_StopsTheDaemonWithAnError()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        LabDaemon server = lab.StartServer(lab.Source, engine,
            LabConfig.Server(IPAddress.Parse("224.1.2.3"), GroupPort, ServerPort, [lab.Members[0].Address]));
        try
        {
            // Its sockets are bound to the deleted interface's index: left running it would forward nothing, silently.
            lab.Exec(lab.Source, VpcLab.Tool("ip"), "link", "del", lab.Source.Interface);
            Assert.That(server.Process.WaitForExit(TimeSpan.FromSeconds(10)), Is.True, "the server stopped by itself");
            Assert.That(server.Process.ExitCode, Is.Not.Zero, "a failure, for the service manager to restart it");
            // One line naming the interface: the daemon's own check, or libpcap's where it notices first ("pcap_dispatch:
            // The interface disappeared").
            string error = server.Process.Stderr.Trim();
            Assert.That(error, Does.StartWith("error: ").And.Contain(lab.Source.Interface).And.Not.Contain("\n"));
            if (engine != "pcap") Assert.That(error, Is.EqualTo($"error: interface {lab.Source.Interface} is gone; start the daemon again once it is back"));
            Assert.That(E2e.ServerLog(server), Does.Contain("stopped on error: ").And.Contain(lab.Source.Interface));
        }
        finally { server.Stop(); }
    }

    [Test]
    public void AMembersInterfaceThatIsDeleted_StopsItsClientWithAnError()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        LabHost member = lab.Members[0];
        LabDaemon client = lab.StartClient(member, engine,
            LabConfig.Client(lab.Source.Address, GroupPort, IPAddress.Parse("224.1.2.3"), GroupPort));
        try
        {
            lab.Exec(member, VpcLab.Tool("ip"), "link", "del", member.Interface);
            Assert.That(client.Process.WaitForExit(TimeSpan.FromSeconds(10)), Is.True, "the client stopped by itself");
            Assert.That(client.Process.ExitCode, Is.Not.Zero);
            string error = client.Process.Stderr.Trim();
            Assert.That(error, Does.StartWith("error: ").And.Contain(member.Interface).And.Not.Contain("\n"));
            if (engine != "pcap") Assert.That(error, Is.EqualTo($"error: interface {member.Interface} is gone; start the daemon again once it is back"));
        }
        finally { client.Stop(); }
    }

    /// <summary>
    /// Sends <see cref="Count"/> datagrams to the group; returns how many the member received: as plain unicast on the
    /// server port, or <paramref name="joined"/> to the group through its client.
    /// </summary>
    private static long SendAndReceive(VpcLab lab, LabHost member, bool joined = false)
    {
        using LabProcess receiver = joined
            ? lab.StartReceiver(member, "--group", "224.1.2.3", "--interface-ip", member.Address.ToString(), "--port", GroupPort.ToString(),
                "--expect", Count.ToString(), "--idle-ms", "3000", "--timeout-ms", "30000")
            : lab.StartReceiver(member, "--port", ServerPort.ToString(), "--expect", Count.ToString(),
                "--bind", "any", "--no-join", "--idle-ms", "3000", "--timeout-ms", "30000");
        using LabProcess sender = lab.StartTool(lab.Source, "send", "--group", "224.1.2.3", "--port", GroupPort.ToString(),
            "--count", Count.ToString(), "--rate", "2000", "--size", "64", "--interface-ip", lab.Source.Address.ToString());
        JsonObject sent = sender.WaitForJsonResult(TimeSpan.FromSeconds(30));
        Assert.That(E2e.Long(sent, "sent"), Is.EqualTo(Count), sent.ToJsonString());
        JsonObject got = receiver.WaitForJsonResult(TimeSpan.FromSeconds(40));
        return E2e.Long(got, "received");
    }
}
