using NUnit.Framework;
namespace Multicast.Tests.Admin;

/// <summary>multis_admin: every flag, every error path, the exact layouts, and the seed manual's commands.</summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ServerAdminTests
{
    private ConfigDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new ConfigDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private ToolResult Admin(params string[] args) => _dir.Run("multis_admin", args);
    private string ConfigFile => _dir.File("server_cfg.json.txt");

    [TestCase("")]
    [TestCase("-H")]
    [TestCase("--help")]
    [TestCase("-help")]
    public void Usage_goes_to_stdout_with_exit_0(string argLine)
    {
        ToolResult r = Admin(argLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        r.AssertOk();
        string[] lines = r.Out.TrimEnd('\n').Split('\n');
        Assert.That(lines[0], Is.EqualTo("multis_admin -- This command can be used to configure multicast server."));
        // Every command line of the seed manual's usage block is there, verbatim.
        foreach (string expected in new[]
                 {
                     "multis_admin -A -m {multi_ip} -j {ip1,ip2,ip3...} -p port", "multis_admin -A -m {multi_ip} -q {ip1,ip2,ip3...}",
                     "multis_admin -D -m {multi_ip}", "multis_admin -C", "multis_admin -P -m {multi_ip}", "multis_admin -L -m {multi_ip}",
                     "multis_admin -S", "multis_admin -H", "-A/--add add multicast group", "-j/--join vm join multicast group",
                     "-q/--quit vm quit multicast group", "-m/--multiip multicast ip", "-p/--port server port",
                     "-R/--run run the multicast server to transmit packages",
                 })
            Assert.That(lines, Does.Contain(expected));
        Assert.That(File.Exists(ConfigFile), Is.False, "help must not touch the config");
    }

    [Test]
    public void Seed_manual_commands_verbatim()
    {
        Admin("-A", "-m", "224.1.2.3", "-j", "192.168.1.1,192.168.1.2,192.168.1.3", "-p", "65535").AssertOk();
        Assert.That(AdminHarness.ServerGroups(_dir.Path), Has.Count.EqualTo(1));
        var g = AdminHarness.ServerGroups(_dir.Path)[0];
        Assert.That(g.Group, Is.EqualTo("224.1.2.3"));
        Assert.That(g.ServerPort, Is.EqualTo(65535));
        Assert.That(g.Members, Is.EqualTo(new[] { "192.168.1.1", "192.168.1.2", "192.168.1.3" }));

        Admin("-A", "-m", "224.1.2.3", "-q", "192.168.1.1").AssertOk();
        g = AdminHarness.ServerGroups(_dir.Path)[0];
        Assert.That(g.Members, Is.EqualTo(new[] { "192.168.1.2", "192.168.1.3" }));
        Assert.That(g.ServerPort, Is.EqualTo(65535), "quitting a member keeps the port");

        // The kernel-variant form of the manual (no -p): the copies keep the application's port.
        Admin("-A", "-m", "224.1.2.4", "-j", "192.168.1.1,192.168.1.2,192.168.1.3").AssertOk();
        Assert.That(AdminHarness.ServerGroups(_dir.Path)[1], Is.EqualTo(("224.1.2.4", 0, 0, new[] { "192.168.1.1", "192.168.1.2", "192.168.1.3" })).Using(new GroupComparer()));
    }

    [Test]
    public void Changes_without_a_daemon_say_where_they_are_saved()
    {
        ToolResult r = Admin("-A", "-m", "224.1.2.3", "-j", "10.0.0.2");
        r.AssertOk();
        Assert.That(r.Out.Trim(), Is.EqualTo($"multis is not running: the change is saved in {ConfigFile} and applies at the next start"));
    }

    [Test]
    public void List_layout()
    {
        Admin("-A", "-m", "224.1.2.3", "-j", "192.168.1.1,192.168.1.2", "-p", "5000").AssertOk();
        Admin("-A", "-m", "224.1.2.3", "-j", "192.168.1.3,192.168.1.1").AssertOk();
        ToolResult r = Admin("-L", "-m", "224.1.2.3");
        r.AssertOk();
        Assert.That(r.Out, Is.EqualTo(
            "Multicast IP:  224.1.2.3\n" +
            "VM IP List: 3\n" +
            "    192.168.1.1\n" +
            "    192.168.1.2\n" +
            "    192.168.1.3\n"));
        Assert.That(Admin("--list", "--multiip=224.1.2.3").Out, Is.EqualTo(r.Out), "long options");
    }

    [Test]
    public void List_of_an_unknown_group_is_one_line_error()
    {
        Admin("-A", "-m", "224.1.2.3").AssertOk();
        ToolResult r = Admin("-L", "-m", "224.9.9.9");
        r.AssertOneLineError("Multicast group not exsit,please create first!");
        Assert.That(r.Exit, Is.EqualTo(1));
    }

    [Test]
    public void Show_layout()
    {
        ToolResult empty = Admin("-S");
        empty.AssertOk();
        Assert.That(empty.Out, Is.EqualTo("Multicast Group IP: \n"));
        Admin("-A", "-m", "224.1.2.3", "-j", "10.0.0.2").AssertOk();
        Admin("-A", "-m", "239.0.0.9", "-j", "10.0.0.3").AssertOk();
        Admin("-A", "-m", "255.255.255.255", "-j", "10.0.0.4").AssertOk();
        ToolResult r = Admin("-S");
        r.AssertOk();
        Assert.That(r.Out, Is.EqualTo("Multicast Group IP: \n224.1.2.3\n239.0.0.9\n255.255.255.255\n"));
    }

    [Test]
    public void Join_merges_and_deduplicates_in_order()
    {
        Admin("-A", "-m", "224.1.2.3", "-j", "10.0.0.2,10.0.0.3,10.0.0.2").AssertOk();
        Admin("-A", "-m", "224.1.2.3", "-j", "10.0.0.4,10.0.0.3").AssertOk();
        Assert.That(AdminHarness.ServerGroups(_dir.Path)[0].Members, Is.EqualTo(new[] { "10.0.0.2", "10.0.0.3", "10.0.0.4" }));
    }

    [Test]
    public void Delete_and_clear()
    {
        Admin("-A", "-m", "224.1.2.3", "-j", "10.0.0.2").AssertOk();
        Admin("-A", "-m", "224.1.2.4", "-j", "10.0.0.2").AssertOk();
        Admin("-D", "-m", "224.1.2.3").AssertOk();
        Assert.That(AdminHarness.ServerGroups(_dir.Path).Select(g => g.Group), Is.EqualTo(new[] { "224.1.2.4" }));
        Admin("-D", "-m", "224.1.2.3").AssertOneLineError("group 224.1.2.3 does not exist");
        Admin("-C").AssertOk();
        Assert.That(AdminHarness.ServerGroups(_dir.Path), Is.Empty);
        Assert.That(Admin("-S").Out, Is.EqualTo("Multicast Group IP: \n"));
        Admin("-C").AssertOk(); // clearing an empty config is fine
    }

    [Test]
    public void Quit_from_an_unknown_group_fails_and_creates_nothing()
    {
        ToolResult r = Admin("-A", "-m", "224.1.2.3", "-q", "10.0.0.2");
        r.AssertOneLineError("multicast group 224.1.2.3 does not exist");
        Assert.That(File.Exists(ConfigFile) ? AdminHarness.ServerGroups(_dir.Path) : [], Is.Empty);
    }

    // Usage errors: exit 2, one line on stderr, the "Try" hint on stdout, and the file untouched.
    [TestCase("option -m is required here", "-A")]
    [TestCase("option -m is required here", "-D")]
    [TestCase("option -m is required here", "-L")]
    [TestCase("option -m repeated", "-A", "-m", "224.1.1.1", "-m", "224.1.1.2")]
    [TestCase("option -j repeated", "-A", "-m", "224.1.1.1", "-j", "10.0.0.1", "-j", "10.0.0.2")]
    [TestCase("option -q repeated", "-A", "-m", "224.1.1.1", "-q", "10.0.0.1", "-q", "10.0.0.2")]
    [TestCase("ip 224.1.1.300 is invalid!", "-A", "-m", "224.1.1.300")]
    [TestCase("ip 1.2.3.4 is not a multicast", "-A", "-m", "1.2.3.4")]
    [TestCase("-j and -q cannot be used together", "-A", "-m", "224.1.1.1", "-j", "10.0.0.1", "-q", "10.0.0.2")]
    [TestCase("empty member", "-A", "-m", "224.1.1.1", "-j", "10.0.0.1,,10.0.0.2")]
    [TestCase("member 225.1.1.1 is a multicast ip", "-A", "-m", "224.1.1.1", "-j", "225.1.1.1")]
    [TestCase("member 255.255.255.255 is a broadcast ip", "-A", "-m", "224.1.1.1", "-j", "255.255.255.255")]
    [TestCase("member 0.0.0.0 is not a host address", "-A", "-m", "224.1.1.1", "-j", "0.0.0.0")]
    [TestCase("ip garbage is invalid!", "-A", "-m", "224.1.1.1", "-j", "10.0.0.1,garbage")]
    [TestCase("ip 10.0.0 is invalid!", "-A", "-m", "224.1.1.1", "-j", "10.0.0")]
    [TestCase("should be smaller than 65536", "-A", "-m", "224.1.1.1", "-j", "10.0.0.1", "-p", "65536")]
    [TestCase("is not a positive integer", "-A", "-m", "224.1.1.1", "-j", "10.0.0.1", "-p", "-5")]
    [TestCase("is not a positive integer", "-A", "-m", "224.1.1.1", "-j", "10.0.0.1", "-p", "12a")]
    [TestCase("-p goes with -j", "-A", "-m", "224.1.1.1", "-q", "10.0.0.1", "-p", "5")]
    [TestCase("del option error: -j does not go with -D", "-D", "-m", "224.1.1.1", "-j", "10.0.0.1")]
    [TestCase("clear option error: -m does not go with -C", "-C", "-m", "224.1.1.1")]
    [TestCase("show option error: -m does not go with -S", "-S", "-m", "224.1.1.1")]
    [TestCase("list option error: -j does not go with -L", "-L", "-m", "224.1.1.1", "-j", "10.0.0.1")]
    [TestCase("stats option error: -j does not go with -P", "-P", "-j", "10.0.0.1")]
    [TestCase("options -A and -D cannot be used together", "-A", "-D", "-m", "224.1.1.1")]
    [TestCase("no command given", "-m", "224.1.1.1")]
    [TestCase("invalid option -- 'X'", "-X")]
    [TestCase("unrecognized option '--bogus'", "--bogus")]
    [TestCase("unexpected argument 'extra'", "-A", "-m", "224.1.1.1", "extra")]
    [TestCase("option -m requires a value", "-A", "-m")]
    [TestCase("--interface goes with -R only", "-A", "-m", "224.1.1.1", "--interface", "lo")]
    [TestCase("unknown engine 'warp'", "-R", "--engine", "warp")]
    [TestCase("--delivery is a client option", "-R", "--delivery", "nft")]
    public void Usage_errors(string message, params string[] args)
    {
        // Written directly rather than with -A: one process per case keeps this long table fast.
        File.WriteAllText(ConfigFile, """{"multi_group_array":[{"group_ip":"239.9.9.9","group_port":999,"server_port":999,"member_array":["10.9.9.9"]}]}""");
        string before = File.ReadAllText(ConfigFile);
        ToolResult r = Admin(args);
        r.AssertOneLineError(message);
        Assert.That(r.Exit, Is.EqualTo(2), r.ToString());
        Assert.That(r.Out, Is.EqualTo("Try 'multis_admin --help' for more information.\n"));
        Assert.That(File.ReadAllText(ConfigFile), Is.EqualTo(before), "a refused command must not change the file");
    }

    [Test]
    public void Stats_without_a_daemon_is_a_clear_error()
    {
        ToolResult r = Admin("-P");
        r.AssertOneLineError("multis is not running");
        Assert.That(r.Err, Does.Contain("multis_admin -R"));
        Assert.That(r.Out, Is.Empty);
    }

    [Test]
    public void Broken_config_file_is_reported_with_its_location()
    {
        File.WriteAllText(ConfigFile, "{\"multi_group_array\":[{\"group_ip\":\"224.1.2.3\",");
        ToolResult r = Admin("-S");
        r.AssertOneLineError($"{ConfigFile}: broken JSON");
        r = Admin("-A", "-m", "224.1.2.3", "-j", "10.0.0.2");
        r.AssertOneLineError($"{ConfigFile}: broken JSON");
        Assert.That(File.ReadAllText(ConfigFile), Is.EqualTo("{\"multi_group_array\":[{\"group_ip\":\"224.1.2.3\","),
            "a change must never replace a file it could not read");
    }

    [Test]
    public void Seed_manual_file_with_trailing_comma_is_accepted()
    {
        // The manual's own example has a trailing comma after member_array.
        File.WriteAllText(ConfigFile, """
            {
              "multi_group_array": [
                {
                  "group_ip": "224.1.2.3",
                  "server_port": 65535,
                  "group_port": 65535,
                  "member_array": [
                    "192.168.1.1",
                    "192.168.1.2",
                    "192.168.1.3"
                  ],
                }
              ]
            }
            """);
        ToolResult r = Admin("-L", "-m", "224.1.2.3");
        r.AssertOk();
        Assert.That(r.Out, Is.EqualTo("Multicast IP:  224.1.2.3\nVM IP List: 3\n    192.168.1.1\n    192.168.1.2\n    192.168.1.3\n"));
    }

    private sealed class GroupComparer : IEqualityComparer<(string, int, int, string[])>
    {
        public bool Equals((string, int, int, string[]) a, (string, int, int, string[]) b) =>
            a.Item1 == b.Item1 && a.Item2 == b.Item2 && a.Item3 == b.Item3 && a.Item4.SequenceEqual(b.Item4);

        public int GetHashCode((string, int, int, string[]) o) => o.Item1.GetHashCode();
    }
}
