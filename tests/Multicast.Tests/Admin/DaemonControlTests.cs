using NUnit.Framework;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Multicast.Tests.Admin;

/// <summary>
/// The tools against running daemons (socket engine on "lo" of a private network namespace): -P layouts, the
/// reload_list tools, and the control socket's access rules.
/// </summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class DaemonControlTests
{
    private ConfigDir _dir = null!;

    [SetUp]
    public void SetUp()
    {
        AdminHarness.RequireRoot();
        _dir = new ConfigDir();
    }

    [TearDown] public void TearDown() => _dir?.Dispose();

    private ToolResult Server(params string[] args) => _dir.Run("multis_admin", args);
    private ToolResult Client(params string[] args) => _dir.Run("multic_admin", args);

    private static long Value(string output, string label)
    {
        Match m = Regex.Match(output, "^" + Regex.Escape(label) + @"\s*:\s*(\d+)$", RegexOptions.Multiline);
        Assert.That(m.Success, Is.True, $"no '{label}' line in:\n{output}");
        return long.Parse(m.Groups[1].Value);
    }

    [Test]
    public void Server_stats_layout_counts_real_copies()
    {
        Daemon d = _dir.StartDaemon("multis");
        Server("-A", "-m", "224.1.2.3", "-j", "127.0.0.2,127.0.0.3", "-p", "6000").AssertOk();
        d.SendToGroup("224.1.2.3", 5000, 7);
        d.SendToGroup("224.9.9.9", 5000, 2); // not a group: only counted, never copied

        ToolResult r = null!;
        Assert.That(() => { r = Server("-P"); return r.Exit == 0 && Value(r.Out, "tx packets") == 14; },
            Is.True.After(5000, 100), () => r.ToString());
        r.AssertOk();
        string[] lines = r.Out.Split('\n');
        // The kernel tool's layout first: labels padded to one column, "  :  value", then a blank line.
        string[] labels =
        [
            "tx packets", "tx bytes", "no_multi_grp_pkt_count", "no_multi_member_pkt_drop_count", "route_fail_drop_count",
            "no_mem_drop_count",
        ];
        for (int i = 0; i < labels.Length; i++)
            Assert.That(lines[i], Does.Match("^" + Regex.Escape(labels[i].PadRight(31)) + @":  \d+$"), r.Out);
        Assert.That(lines[6], Is.Empty);
        // 7 datagrams of 5 payload bytes (IP 20 + UDP 8 + 5 = 33 bytes) to 2 members.
        Assert.That(Value(r.Out, "tx bytes"), Is.EqualTo(14 * 33));
        Assert.That(Value(r.Out, "no_mem_drop_count"), Is.EqualTo(0));
        // Then the user-space tool's three lines.
        Assert.That(lines[7], Is.EqualTo($"rx packets:{Value(r.Out, "captured")}"));
        Assert.That(lines[8], Is.EqualTo("tx packages:14"));
        Assert.That(lines[9], Does.Match(@"^dx packets:\d+$"));

        ToolResult g = Server("-P", "-m", "224.1.2.3");
        g.AssertOk();
        Assert.That(g.Out, Is.EqualTo(
            "tx packets                     :  14\n" +
            "tx bytes                       :  462\n" +
            "\n" +
            "captured packets               :  7\n" +
            "copies dropped                 :  0\n" +
            "member 127.0.0.2       sent 7 dropped 0\n" +
            "member 127.0.0.3       sent 7 dropped 0\n"));

        // The stats file the daemon keeps agrees with what -P printed.
        Assert.That(() => AdminHarness.ReadJson(_dir.File("server_stats.json"))["counters"]!["copies_sent"]!.GetValue<long>(),
            Is.EqualTo(14).After(3000, 100));
    }

    [Test]
    public void Server_stats_of_an_unknown_group()
    {
        _dir.StartDaemon("multis");
        Server("-A", "-m", "224.1.2.3", "-j", "127.0.0.2").AssertOk();
        ToolResult r = Server("-P", "-m", "224.1.2.4");
        r.AssertOneLineError("multicast is not exist!");
        Assert.That(r.Out, Is.EqualTo("\n"));
    }

    [Test]
    public void Changes_reach_the_running_daemon_silently()
    {
        _dir.StartDaemon("multis");
        ToolResult add = Server("-A", "-m", "224.1.2.3", "-j", "127.0.0.2");
        add.AssertOk();
        Assert.That(add.Out, Is.Empty, "with a daemon running, a change prints nothing");
        Assert.That(Server("-P", "-m", "224.1.2.3").Out, Does.Contain("member 127.0.0.2"));
        Server("-A", "-m", "224.1.2.3", "-q", "127.0.0.2").AssertOk();
        Assert.That(Server("-P", "-m", "224.1.2.3").Out, Does.Not.Contain("member 127.0.0.2"));
        Server("-D", "-m", "224.1.2.3").AssertOk();
        Server("-P", "-m", "224.1.2.3").AssertOneLineError("multicast is not exist!");
    }

    [Test]
    public void Client_stats_layout()
    {
        _dir.StartDaemon("multic");
        Client("-A", "-i", "192.168.0.1", "-p", "65535", "-m", "224.1.2.3").AssertOk();
        ToolResult r = Client("-P");
        r.AssertOk();
        string[] lines = r.Out.Split('\n');
        Assert.That(lines[0], Does.Match(@"^rx packets  :  \d+$"));
        Assert.That(lines[1], Does.Match(@"^rx bytes    :  \d+$"));
        Assert.That(lines[2], Is.Empty);
        ToolResult one = Client("-P", "-i", "192.168.0.1", "-p", "65535");
        one.AssertOk();
        Assert.That(one.Out, Is.EqualTo("rx packets  :  0\nrx bytes    :  0\n\n"));
        Client("-P", "-i", "192.168.0.2", "-p", "65535").AssertOneLineError("multicast server not existed!");
    }

    [Test]
    public void Reload_list_one_shot()
    {
        Daemon d = _dir.StartDaemon("multis");
        Server("-A", "-m", "224.1.2.3", "-j", "127.0.0.2").AssertOk();
        d.SendToGroup("224.1.2.3", 5000, 3);
        ToolResult list = null!;
        Assert.That(() => (list = _dir.Run("server_reload_list", "list")).Out.Contains("fwd_point_pkt:\t3"), Is.True.After(5000, 100),
            () => list.ToString());
        list.AssertOk();
        Assert.That(list.Out, Does.Match("^send list\\[yes\\]\nrecv_pkt:\t\\d+\ndrop_pkt:\t\\d+\nforward_pkt:\t3\nfwd_point_pkt:\t3\n$"));

        // A hand edit reaches the daemon through `reload`, as the seed manual describes.
        File.WriteAllText(_dir.File("server_cfg.json.txt"),
            """{"multi_group_array":[{"group_ip":"224.1.2.3","member_array":["127.0.0.2","127.0.0.9"]}]}""");
        ToolResult reload = _dir.Run("server_reload_list", "reload");
        reload.AssertOk();
        Assert.That(reload.Out, Is.EqualTo("send reload[yes]\n"));
        Assert.That(Server("-P", "-m", "224.1.2.3").Out, Does.Contain("member 127.0.0.9"));
    }

    [Test]
    public void Reload_list_interactive_prompt()
    {
        _dir.StartDaemon("multis");
        const string prompt = "please input command[reload or list]#";
        ToolResult r = AdminHarness.RunWithInput(_dir.Path, "server_reload_list", "reload\nlist\n");
        r.AssertOk();
        Assert.That(r.Out, Does.Match(
            "^" + Regex.Escape(prompt) + @"send reload\[yes\]\n" +
            Regex.Escape(prompt) + @"send list\[yes\]\nrecv_pkt:\t\d+\ndrop_pkt:\t\d+\nforward_pkt:\t\d+\nfwd_point_pkt:\t\d+\n" +
            Regex.Escape(prompt) + "\n$"));

        ToolResult bad = AdminHarness.RunWithInput(_dir.Path, "server_reload_list", "bogus\nquit\n");
        Assert.That(bad.Err.Trim(), Is.EqualTo("error: unknown command 'bogus' (expected reload or list)"));
        Assert.That(bad.Out, Is.EqualTo(prompt + prompt));
    }

    [Test]
    public void Client_reload_list()
    {
        _dir.StartDaemon("multic");
        ToolResult r = AdminHarness.RunWithInput(_dir.Path, "client_reload_list", "list\n");
        r.AssertOk();
        Assert.That(r.Out, Does.Match(@"^please input command\[reload or list\]#send list\[yes\]\nrecv_pkt:\t\d+\ndrop_pkt:\t\d+\nforward_pkt:\t\d+\n"));
        _dir.Run("client_reload_list", "reload").AssertOk();
    }

    [Test]
    public void Reload_list_without_a_daemon()
    {
        ToolResult r = _dir.Run("server_reload_list", "list");
        r.AssertOneLineError("multis is not running");
        ToolResult c = _dir.Run("client_reload_list", "reload");
        c.AssertOneLineError("multic is not running");
        _dir.Run("server_reload_list", "a", "b").AssertOneLineError("at most one command");
    }

    [Test]
    public void Control_socket_is_mode_0600_and_refuses_a_non_root_user()
    {
        Daemon d = _dir.StartDaemon("multis");
        Server("-A", "-m", "224.1.2.3", "-j", "127.0.0.2").AssertOk();
        Assert.That(File.GetUnixFileMode(d.SocketPath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        // Let nobody reach the directory, so the refusal is the socket's own.
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0x1ED); // 0755
        foreach (string[] cmd in new[] { new[] { "multis_admin", "-P" }, new[] { "server_reload_list", "reload" } })
        {
            ToolResult r = AdminHarness.RunAsNobody(_dir.Path, cmd[0], cmd[1..]);
            r.AssertOneLineError("permission denied");
            Assert.That(r.Out, Is.Empty, r.ToString());
        }
    }

    [Test]
    public void Daemon_checks_peer_credentials_even_when_the_socket_file_is_opened_up()
    {
        Daemon d = _dir.StartDaemon("multis");
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0x1ED); // 0755
        File.SetUnixFileMode(d.SocketPath, (UnixFileMode)0x1B6); // 0666: only SO_PEERCRED stands in the way now
        ToolResult r = AdminHarness.RunAsNobody(_dir.Path, "multis_admin", "-P");
        r.AssertOneLineError("permission denied");
        ToolResult reload = AdminHarness.RunAsNobody(_dir.Path, "server_reload_list", "reload");
        Assert.That(reload.Exit, Is.Not.EqualTo(0), reload.ToString());
        Assert.That(reload.Err.Trim(), Does.StartWith("error: permission denied"));
        Assert.That(reload.Err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(File.ReadAllText(_dir.File("server_log.txt")), Does.Contain("control: refused pid"));
        // Root still gets through.
        Server("-P").AssertOk();
    }

    [Test]
    public void A_second_daemon_on_the_same_directory_is_refused()
    {
        Daemon first = _dir.StartDaemon("multis");
        Server("-A", "-m", "224.1.2.3", "-j", "127.0.0.2").AssertOk();
        ToolResult r = AdminHarness.Start(_dir.Path, "multis_admin", ["-R", "--engine", "socket", "--interface", "lo"],
            prefix: ["unshare", "--net"]).Wait();
        r.AssertOneLineError("another daemon is already running");
        // The refused one must leave the running daemon's files alone.
        Assert.That(File.ReadAllText(first.PidFile).Trim(), Is.EqualTo(first.Pid.ToString()));
        Assert.That(File.Exists(first.SocketPath), Is.True);
        Assert.That(() => AdminHarness.ReadJson(_dir.File("server_stats.json"))["groups"]!.AsArray().Count, Is.EqualTo(1).After(3000, 100));
        Server("-P", "-m", "224.1.2.3").AssertOk();
    }
}
