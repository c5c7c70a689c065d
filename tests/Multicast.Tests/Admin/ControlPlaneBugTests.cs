using NUnit.Framework;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Multicast.Tests.Admin;

/// <summary>
/// One test per control-plane bug of the original (reference section 9, and the CLI bugs of 2.6/2.7): each would
/// fail against the original's behaviour.
/// </summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ControlPlaneBugTests
{
    private ConfigDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new ConfigDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private ToolResult Server(params string[] args) => _dir.Run("multis_admin", args);
    private ToolResult Client(params string[] args) => _dir.Run("multic_admin", args);

    [Test]
    public void Delete_keeps_the_other_groups_ports()
    {
        // Original: -D rewrote every remaining group to group_port 7127 / server_port 7126.
        Server("-A", "-m", "224.1.1.1", "-j", "10.0.0.2", "-p", "5000").AssertOk();
        Server("-A", "-m", "224.1.1.2", "-j", "10.0.0.3", "-p", "6000").AssertOk();
        Server("-A", "-m", "224.1.1.3", "-j", "10.0.0.4").AssertOk();
        Server("-D", "-m", "224.1.1.1").AssertOk();
        var groups = AdminHarness.ServerGroups(_dir.Path);
        Assert.That(groups.Select(g => (g.Group, g.ServerPort, g.GroupPort)),
            Is.EqualTo(new[] { ("224.1.1.2", 6000, 6000), ("224.1.1.3", 0, 0) }));
    }

    [Test]
    public void Add_without_port_keeps_server_port()
    {
        // Original: -A without -p overwrote server_port with 7126.
        Server("-A", "-m", "224.1.2.3", "-j", "10.0.0.2", "-p", "5000").AssertOk();
        Server("-A", "-m", "224.1.2.3", "-j", "10.0.0.3").AssertOk();
        var g = AdminHarness.ServerGroups(_dir.Path).Single();
        Assert.That((g.ServerPort, g.GroupPort), Is.EqualTo((5000, 5000)));
        Assert.That(g.Members, Is.EqualTo(new[] { "10.0.0.2", "10.0.0.3" }));
        // An explicit -p does change it.
        Server("-A", "-m", "224.1.2.3", "-j", "10.0.0.3", "-p", "5001").AssertOk();
        Assert.That(AdminHarness.ServerGroups(_dir.Path).Single().ServerPort, Is.EqualTo(5001));
    }

    [Test]
    public void Add_group_alone_creates_it()
    {
        // Original: `-A -m G` alone was a quit with an empty list, i.e. a silent no-op.
        Server("-A", "-m", "224.1.2.3").AssertOk();
        Assert.That(Server("-S").Out, Is.EqualTo("Multicast Group IP: \n224.1.2.3\n"));
        Assert.That(Server("-L", "-m", "224.1.2.3").Out, Is.EqualTo("Multicast IP:  224.1.2.3\nVM IP List: 0\n"));
        // Again: it exists already, nothing changes, still success.
        Server("-A", "-m", "224.1.2.3").AssertOk();
        Assert.That(AdminHarness.ServerGroups(_dir.Path), Has.Count.EqualTo(1));
    }

    [Test]
    public void Client_duplicates_are_detected()
    {
        // Original: an entry was appended unless *every* existing entry matched, so duplicates piled up.
        Client("-A", "-i", "10.0.0.1", "-p", "5000", "-m", "224.1.2.3").AssertOk();
        Client("-A", "-i", "10.0.0.2", "-p", "5000", "-m", "224.1.2.3").AssertOk();
        Client("-A", "-i", "10.0.0.1", "-p", "5000", "-m", "224.1.2.3").AssertOneLineError("Multicast group already exsit!");
        Client("-A", "-i", "10.0.0.3", "-g", "4000", "-s", "3456", "-m", "239.1.1.1").AssertOk();
        Client("-A", "-i", "10.0.0.3", "-g", "4000", "-s", "3456", "-m", "239.1.1.1").AssertOneLineError("already exsit");
        Assert.That(AdminHarness.ClientRoutes(_dir.Path), Has.Count.EqualTo(3));
        // Same (server, port) with another group updates the entry in place instead of adding a second one.
        Client("-A", "-i", "10.0.0.1", "-p", "5000", "-m", "224.1.2.4").AssertOk();
        Assert.That(AdminHarness.ClientRoutes(_dir.Path), Is.EqualTo(new[]
        {
            ("10.0.0.1", 5000, "224.1.2.4", 0), ("10.0.0.2", 5000, "224.1.2.3", 0), ("10.0.0.3", 3456, "239.1.1.1", 4000),
        }));
    }

    [Test]
    public void Client_duplicate_in_a_hand_edited_file_is_refused()
    {
        File.WriteAllText(_dir.File("client_cfg.json.txt"), """
            {"multi_server_info_array":[
              {"server_ip":"10.0.0.1","server_port":5000,"group_ip":"224.1.2.3","group_port":0},
              {"server_ip":"10.0.0.1","server_port":5000,"group_ip":"224.1.2.4","group_port":0}]}
            """);
        Client("-L").AssertOneLineError("server 10.0.0.1 port 5000 is configured twice");
    }

    [Test]
    public void Members_are_validated_on_the_command_line()
    {
        // Original: garbage members parsed as 255.255.255.255 (broadcast).
        Server("-A", "-m", "224.1.2.3", "-j", "10.0.0.2").AssertOk();
        string before = File.ReadAllText(_dir.File("server_cfg.json.txt"));
        foreach (string bad in new[] { "garbage", "10.0.0.256", "10.0.0", "1.2.3.4.5", " ", "10.0.0.2;rm -rf /" })
            Server("-A", "-m", "224.1.2.3", "-j", bad).AssertOneLineError();
        Assert.That(File.ReadAllText(_dir.File("server_cfg.json.txt")), Is.EqualTo(before));
    }

    [Test]
    public void Members_are_validated_in_a_hand_edited_file()
    {
        File.WriteAllText(_dir.File("server_cfg.json.txt"),
            """{"multi_group_array":[{"group_ip":"224.1.2.3","server_port":5000,"member_array":["10.0.0.2","garbage"]}]}""");
        ToolResult r = Server("-L", "-m", "224.1.2.3");
        r.AssertOneLineError("\"garbage\" is not a dotted-quad IPv4 address");
        Assert.That(r.Err, Does.Contain("server_cfg.json.txt"));
    }

    [Test]
    public void A_member_that_is_one_of_the_groups_is_refused()
    {
        // Original kernel: group A listing B while B lists A recursed without bound.
        Server("-A", "-m", "10.1.1.255", "-j", "10.0.0.2").AssertOk();
        string before = File.ReadAllText(_dir.File("server_cfg.json.txt"));
        Server("-A", "-m", "224.1.2.3", "-j", "10.1.1.255").AssertOneLineError("10.1.1.255");
        Server("-A", "-m", "224.1.2.3", "-j", "224.1.2.3").AssertOneLineError("224.1.2.3 is a multicast ip");
        Assert.That(File.ReadAllText(_dir.File("server_cfg.json.txt")), Is.EqualTo(before));
        // The same loop written by hand into the file is refused when the file is read.
        File.WriteAllText(_dir.File("server_cfg.json.txt"), """
            {"multi_group_array":[{"group_ip":"224.1.1.1","member_array":["10.0.0.2"]},
                                  {"group_ip":"224.1.1.2","member_array":["224.1.1.1"]}]}
            """);
        Server("-S").AssertOneLineError("224.1.1.1");
    }

    [Test]
    public void Writes_are_atomic_for_concurrent_readers()
    {
        // Original: the file was rewritten in place, so a reader during a write saw partial JSON.
        string path = _dir.File("server_cfg.json.txt");
        Server("-A", "-m", "224.1.2.3", "-j", "10.0.0.1").AssertOk();
        using var done = new CancellationTokenSource();
        int reads = 0;
        var failures = new List<string>();
        var reader = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                string text = File.ReadAllText(path);
                try { JsonNode.Parse(text); reads++; }
                catch (JsonException e) { lock (failures) failures.Add($"{e.Message}: {text}"); }
            }
        });
        // Big member lists make each write long enough for a torn read to be likely if writes were not atomic.
        for (int i = 0; i < 8; i++)
        {
            string members = string.Join(',', Enumerable.Range(1, 200).Select(n => $"10.{i}.{n}.1"));
            Server("-A", "-m", "224.1.2.3", "-j", members).AssertOk();
            Server("-A", "-m", "224.1.2.3", "-q", members).AssertOk();
        }
        done.Cancel();
        reader.Wait();
        Assert.That(failures, Is.Empty);
        Assert.That(reads, Is.GreaterThan(10));
        Assert.That(Directory.GetFiles(_dir.Path, "*.tmp"), Is.Empty, "no temporary files left behind");
    }

    [Test]
    public void Persistence_does_not_depend_on_a_clean_stop()
    {
        // Original kernel variant: the running config was saved only by `service multis stop`; start deleted it.
        AdminHarness.RequireRoot();
        Daemon d = _dir.StartDaemon("multis");
        Server("-A", "-m", "224.1.2.3", "-j", "10.0.0.2", "-p", "5000").AssertOk();
        d.Kill();
        _dir.StartDaemon("multis");
        ToolResult stats = Server("-P", "-m", "224.1.2.3");
        stats.AssertOk();
        Assert.That(stats.Out, Does.Contain("member 10.0.0.2"));
    }

    [Test]
    public void Nothing_listens_on_tcp()
    {
        // Original: unauthenticated TCP control port on 0.0.0.0:65000 / 65001.
        AdminHarness.RequireRoot();
        Daemon server = _dir.StartDaemon("multis");
        Daemon client = _dir.StartDaemon("multic");
        foreach (Daemon d in new[] { server, client })
            foreach (string table in new[] { "tcp", "tcp6" })
            {
                string file = $"/proc/{d.Pid}/net/{table}";
                if (!File.Exists(file)) continue;
                // Column 4 is the state; 0A = LISTEN. The namespace is the daemon's own, so any listener is its.
                string[] listening = File.ReadAllLines(file).Skip(1)
                    .Where(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3] == "0A").ToArray();
                Assert.That(listening, Is.Empty, $"{d.Role} listens on TCP: {string.Join('\n', listening)}");
            }
        Assert.That(File.Exists(server.SocketPath) && File.Exists(client.SocketPath));
    }

    [Test]
    public void An_idle_connection_does_not_block_the_control_plane()
    {
        // Original: one connection served at a time and kept open until the peer closed it.
        AdminHarness.RequireRoot();
        Daemon d = _dir.StartDaemon("multis");
        using var idle = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix,
            System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        idle.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(d.SocketPath));
        var sw = Stopwatch.StartNew();
        Server("-A", "-m", "224.1.2.3", "-j", "10.0.0.2").AssertOk();
        _dir.Run("server_reload_list", "list").AssertOk();
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(4)));
    }

    [Test]
    public void Sigint_stops_the_daemon_cleanly_and_logs_are_appended_with_timestamps()
    {
        // Original: SIGINT only logged; log truncated at each start, no timestamps or levels.
        AdminHarness.RequireRoot();
        Daemon first = _dir.StartDaemon("multis");
        first.Signal(AdminHarness.SIGINT);
        Assert.That(first.Process.WaitForExit(15000), Is.True, "SIGINT must stop the daemon");
        Assert.That(first.Process.ExitCode, Is.EqualTo(0));
        Assert.That(File.Exists(first.PidFile), Is.False, "pid file removed on a clean stop");
        Assert.That(File.Exists(first.SocketPath), Is.False, "socket removed on a clean stop");
        Daemon second = _dir.StartDaemon("multis");
        Assert.That(second.Stop(), Is.EqualTo(0));
        string[] started = File.ReadAllLines(_dir.File("server_log.txt")).Where(l => l.Contains("multis started")).ToArray();
        Assert.That(started, Has.Length.EqualTo(2), "the second start appends to the log");
        Assert.That(started, Has.All.Match(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d \[INF\] "));
    }

    [Test]
    public void Sighup_and_reload_reread_the_file_and_a_bad_file_keeps_the_running_config()
    {
        AdminHarness.RequireRoot();
        Daemon d = _dir.StartDaemon("multis");
        string path = _dir.File("server_cfg.json.txt");
        File.WriteAllText(path, """{"multi_group_array":[{"group_ip":"224.1.2.3","server_port":5000,"member_array":["10.0.0.2"]}]}""");
        d.Signal(AdminHarness.SIGHUP);
        Assert.That(() => Server("-P", "-m", "224.1.2.3").Exit, Is.EqualTo(0).After(5000, 100), "SIGHUP reloads");
        File.WriteAllText(path, """{"multi_group_array":[{"group_ip":"224.1.2.4","member_array":["nonsense"]}]}""");
        ToolResult r = _dir.Run("server_reload_list", "reload");
        Assert.That(r.Exit, Is.Not.EqualTo(0), r.ToString());
        Assert.That(r.Err, Does.Contain("nonsense"));
        ToolResult stats = Server("-P", "-m", "224.1.2.3");
        stats.AssertOk();
        Assert.That(stats.Out, Does.Contain("member 10.0.0.2"), "the running config is kept");
        Assert.That(d.Process.HasExited, Is.False);
    }
}
