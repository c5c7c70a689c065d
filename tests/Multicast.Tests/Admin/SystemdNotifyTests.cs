using System.Net.Sockets;
using System.Text;
using NUnit.Framework;

namespace Multicast.Tests.Admin;

/// <summary>
/// The units are `Type=notify`: systemd counts a start as done only when the daemon sends READY=1 to $NOTIFY_SOCKET,
/// and a daemon that dies first fails `service multis start`. So READY=1 must come once the daemon serves (pid file,
/// control socket), never from a daemon that refused to start, and STOPPING=1 when it is told to stop.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class SystemdNotifyTests
{
    [Test]
    public void TheDaemon_SaysReadyOnceItServes_AndStoppingWhenTold()
    {
        AdminHarness.RequireRoot();
        using var dir = new ConfigDir();
        using var systemd = new NotifyListener(dir.File("notify.sock"));
        Daemon d = dir.StartDaemon("multis", new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.Path }, waitReady: false);

        Assert.That(systemd.Next(TimeSpan.FromSeconds(20)), Is.EqualTo("READY=1"), d.ReadOutput());
        Assert.That(File.ReadAllText(d.PidFile).Trim(), Is.EqualTo(d.Pid.ToString()), "ready means the pid file is written");
        Assert.That(File.Exists(d.SocketPath), Is.True, "ready means the control socket is open");
        dir.Run("multis_admin", "-P").AssertOk();

        Assert.That(d.Stop(), Is.EqualTo(0));
        Assert.That(systemd.Next(TimeSpan.FromSeconds(5)), Is.EqualTo("STOPPING=1"));
        Assert.That(d.ReadOutput(), Does.Contain("signal SIGTERM: stopping"), "the signal's name unquoted, as the journal shows it");
    }

    [Test]
    public void ADaemonThatCannotStart_NeverSaysReady_AndLogsWhy()
    {
        AdminHarness.RequireRoot();
        using var dir = new ConfigDir();
        using var systemd = new NotifyListener(dir.File("notify.sock"));
        ToolResult r = AdminHarness.Shell(
            $"unshare --net '{AdminHarness.Bin("multis_admin")}' -R --interface nosuch0",
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.Path, ["MULTICAST_CONFIG_DIR"] = dir.Path });
        r.AssertOneLineError("interface nosuch0 does not exist");
        Assert.That(r.Out, Does.Not.Contain("ring engine unavailable"), "a mistyped interface is not a reason to fall back");
        Assert.That(systemd.Next(TimeSpan.FromMilliseconds(500)), Is.Null, "systemd must see the start fail");
        Assert.That(File.ReadAllText(dir.File("server_log.txt")), Does.Contain("[ERR] multis: could not start: interface nosuch0 does not exist"),
            "the log file, where users of the original look, says why too");
    }

    /// <summary>What systemd does with NOTIFY_SOCKET: a datagram socket at a path, each message one datagram.</summary>
    private sealed class NotifyListener : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        public string Path { get; }

        public NotifyListener(string path)
        {
            Path = path;
            _socket.Bind(new UnixDomainSocketEndPoint(path));
        }

        /// <summary>The next message, or null if none comes within <paramref name="timeout"/>.</summary>
        public string? Next(TimeSpan timeout)
        {
            if (!_socket.Poll(timeout, SelectMode.SelectRead)) return null;
            var buffer = new byte[4096];
            return Encoding.UTF8.GetString(buffer, 0, _socket.Receive(buffer)).Trim();
        }

        public void Dispose()
        {
            _socket.Dispose();
            File.Delete(Path);
        }
    }
}
