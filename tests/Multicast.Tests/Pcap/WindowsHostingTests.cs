using System.IO.Pipes;
using Multicast.Cli.Daemon;
using Multicast.Core.Config;
using Multicast.Windows;
using NUnit.Framework;

namespace Multicast.Tests.Pcap;

/// <summary>The platform-independent parts of the Windows hosting: pipe naming and the pipe protocol.</summary>
public class WindowsHostingTests
{
    [Test]
    public void PipeName_IsPerConfigDirectory_AndCaseInsensitive()
    {
        string a = NamedPipeControl.PipeName("/etc/multicast/multis.sock");
        Assert.That(NamedPipeControl.PipeName("/etc/multicast/MULTIS.sock"), Is.EqualTo(a));
        Assert.That(NamedPipeControl.PipeName("/tmp/other/multis.sock"), Is.Not.EqualTo(a));
        Assert.That(NamedPipeControl.PipeName("/etc/multicast/multic.sock"), Is.Not.EqualTo(a));
        Assert.That(a, Does.StartWith("multicast-multis-"));
    }

    [Test]
    public async Task PipeProtocol_OneCommandLineIn_OneReplyOut()
    {
        string address = Path.Combine(Path.GetTempPath(), $"mcp-pipe-{Guid.NewGuid():N}", "multis.sock");
        var server = new NamedPipeServerStream(NamedPipeControl.PipeName(address), PipeDirection.InOut, 1,
            PipeTransmissionMode.Byte, PipeOptions.Asynchronous);
        string? received = null;
        Task serving = Task.Run(async () =>
        {
            await using (server)
            {
                await server.WaitForConnectionAsync();
                await NamedPipeControl.Serve(server, c => { received = c; return "recv_pkt:\t7"; }, CancellationToken.None);
            }
        });
        string? reply = await Task.Run(() => NamedPipeControl.TrySend(address, "list", TimeSpan.FromSeconds(10)));
        await serving;
        Assert.That(received, Is.EqualTo("list"));
        Assert.That(reply, Is.EqualTo("recv_pkt:\t7\n"));
    }

    [Test]
    public void NoDaemon_IsNull_NotAnError()
    {
        string address = Path.Combine(Path.GetTempPath(), $"mcp-none-{Guid.NewGuid():N}", "multis.sock");
        Assert.That(NamedPipeControl.TrySend(address, "list", TimeSpan.FromMilliseconds(200)), Is.Null);
    }

    [Test]
    public void Udptopoint_OutsideTheServiceManager_RunsTheServerInTheForeground()
    {
        bool ran = false;
        int code = UdptopointService.Run(Path.GetTempPath(), stop => { ran = !stop.IsCancellationRequested; return 3; });
        Assert.That(ran, Is.True);
        Assert.That(code, Is.EqualTo(3));
    }

    [Test]
    public void DaemonOptions_AcceptPcap()
    {
        Assert.That(DaemonOptions.Parse(["-R", "--engine", "pcap"]).Engine, Is.EqualTo("pcap"));
        Assert.That(DaemonOptions.Parse(["-R", "--engine=pcap", "--interface", "eth0"]).Interface, Is.EqualTo("eth0"));
    }

    [Test]
    public void ConfigDirectory_DefaultsPerPlatform_AndTheVariableOverrides()
    {
        string? saved = Environment.GetEnvironmentVariable("MULTICAST_CONFIG_DIR");
        try
        {
            Environment.SetEnvironmentVariable("MULTICAST_CONFIG_DIR", null);
            Assert.That(ConfigFile.Directory, Is.EqualTo(OperatingSystem.IsWindows() ? @"C:\udptopoint" : "/etc/multicast"));
            Environment.SetEnvironmentVariable("MULTICAST_CONFIG_DIR", "/tmp/mcp-conf");
            Assert.That(ConfigFile.Directory, Is.EqualTo("/tmp/mcp-conf"));
        }
        finally { Environment.SetEnvironmentVariable("MULTICAST_CONFIG_DIR", saved); }
    }
}
