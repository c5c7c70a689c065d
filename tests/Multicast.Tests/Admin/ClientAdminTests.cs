using NUnit.Framework;
namespace Multicast.Tests.Admin;

/// <summary>multic_admin in both dialects of the seed manual: kernel (-i -p -m) and user tool (-i -g -s -m).</summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ClientAdminTests
{
    private ConfigDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new ConfigDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private ToolResult Admin(params string[] args) => _dir.Run("multic_admin", args);
    private string ConfigFile => _dir.File("client_cfg.json.txt");

    [TestCase("")]
    [TestCase("-H")]
    [TestCase("--help")]
    [TestCase("-help")]
    public void Usage_goes_to_stdout_with_exit_0(string argLine)
    {
        ToolResult r = Admin(argLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        r.AssertOk();
        string[] lines = r.Out.TrimEnd('\n').Split('\n');
        Assert.That(lines[0], Is.EqualTo("multic_admin -- This command can be used to configure multicast client."));
        foreach (string expected in new[]
                 {
                     "multic_admin -A -i {ip} -p {port} -m {multi_ip}", "multic_admin -A -i {ip} -g {groupport} -s {serverport} -m {multi_ip}",
                     "multic_admin -D -i {ip} -p {port}", "multic_admin -D -i {ip} -g {groupport}", "multic_admin -C",
                     "multic_admin -P -i {ip} -p {port}", "multic_admin -L", "multic_admin -H",
                     "-i/--ip multicast server ip, the ip of multicast provider", "-g/--gport udp port, the multicast port",
                     "-s/--sport server port", "-m/--multi_ip multicast ip",
                 })
            Assert.That(lines, Does.Contain(expected));
    }

    [Test]
    public void Seed_manual_kernel_dialect_verbatim()
    {
        Admin("-A", "-i", "192.168.0.1", "-p", "65535", "-m", "224.1.2.3").AssertOk();
        Assert.That(AdminHarness.ClientRoutes(_dir.Path), Is.EqualTo(new[] { ("192.168.0.1", 65535, "224.1.2.3", 0) }));
        ToolResult list = Admin("-L");
        list.AssertOk();
        Assert.That(list.Out, Is.EqualTo(
            "Configure Multicast Server 1:\n" +
            "Server IP:  192.168.0.1\n" +
            "UDP Port:  65535\n" +
            "Multicast  IP:  224.1.2.3\n" +
            "\n\n"));
        Admin("-D", "-i", "192.168.0.1", "-p", "65535").AssertOk();
        Assert.That(AdminHarness.ClientRoutes(_dir.Path), Is.Empty);
        ToolResult empty = Admin("-L");
        empty.AssertOk();
        Assert.That(empty.Out, Is.EqualTo("Not configure multicast server ip and port!\n"));
    }

    [Test]
    public void Seed_manual_user_tool_dialect_verbatim()
    {
        // multic_admin -A -i {ip} -g {groupport} -s {serverport} -m {multi_ip}
        Admin("-A", "-i", "192.168.0.1", "-g", "65535", "-s", "3456", "-m", "224.1.2.3").AssertOk();
        Assert.That(AdminHarness.ClientRoutes(_dir.Path), Is.EqualTo(new[] { ("192.168.0.1", 3456, "224.1.2.3", 65535) }));
        ToolResult list = Admin("-L");
        Assert.That(list.Out, Is.EqualTo(
            "Configure Multicast Server 1:\n" +
            "Server IP:  192.168.0.1\n" +
            "UDP Port:  3456\n" +
            "Multicast  IP:  224.1.2.3\n" +
            "Group Port:  65535\n" +
            "\n\n"));
        // multic_admin -D -i {ip} -g {groupport}
        Admin("-D", "-i", "192.168.0.1", "-g", "65535").AssertOk();
        Assert.That(AdminHarness.ClientRoutes(_dir.Path), Is.Empty);
    }

    [Test]
    public void List_numbers_every_entry()
    {
        Admin("-A", "-i", "10.0.0.1", "-p", "5000", "-m", "224.1.2.3").AssertOk();
        Admin("-A", "-i", "10.0.0.2", "-p", "0", "-m", "239.1.1.1").AssertOk();
        Admin("--add", "--ip=10.0.0.3", "--gport", "7000", "--sport=7001", "--multi_ip", "224.7.7.7").AssertOk();
        ToolResult r = Admin("-L");
        r.AssertOk();
        Assert.That(r.Out, Is.EqualTo(
            "Configure Multicast Server 1:\nServer IP:  10.0.0.1\nUDP Port:  5000\nMulticast  IP:  224.1.2.3\n\n\n" +
            "Configure Multicast Server 2:\nServer IP:  10.0.0.2\nUDP Port:  0\nMulticast  IP:  239.1.1.1\n\n\n" +
            "Configure Multicast Server 3:\nServer IP:  10.0.0.3\nUDP Port:  7001\nMulticast  IP:  224.7.7.7\nGroup Port:  7000\n\n\n"));
    }

    [Test]
    public void Port_is_decimal_not_octal()
    {
        Admin("-A", "-i", "10.0.0.1", "-p", "010", "-m", "224.1.2.3").AssertOk();
        Assert.That(AdminHarness.ClientRoutes(_dir.Path)[0].ServerPort, Is.EqualTo(10));
    }

    [Test]
    public void Delete_by_server_port_in_the_user_tool_dialect()
    {
        Admin("-A", "-i", "10.0.0.1", "-g", "4000", "-s", "3456", "-m", "224.1.2.3").AssertOk();
        Admin("-A", "-i", "10.0.0.1", "-g", "4001", "-s", "3457", "-m", "224.1.2.4").AssertOk();
        Admin("-D", "-i", "10.0.0.1", "-s", "3457").AssertOk();
        Assert.That(AdminHarness.ClientRoutes(_dir.Path), Is.EqualTo(new[] { ("10.0.0.1", 3456, "224.1.2.3", 4000) }));
        Admin("-D", "-i", "10.0.0.1", "-p", "9999").AssertOneLineError("group not exist");
    }

    [Test]
    public void Clear()
    {
        Admin("-A", "-i", "10.0.0.1", "-p", "5000", "-m", "224.1.2.3").AssertOk();
        Admin("-A", "-i", "10.0.0.2", "-p", "5000", "-m", "224.1.2.3").AssertOk();
        Admin("-C").AssertOk();
        Assert.That(AdminHarness.ClientRoutes(_dir.Path), Is.Empty);
    }

    [Test]
    public void Stats_without_a_daemon_is_a_clear_error()
    {
        ToolResult r = Admin("-P");
        r.AssertOneLineError("multic is not running");
        Assert.That(r.Err, Does.Contain("multic_admin -R"));
    }

    [TestCase("option -m is required here", "-A", "-i", "10.0.0.1", "-p", "5000")]
    [TestCase("option -i is required here", "-A", "-p", "5000", "-m", "224.1.2.3")]
    [TestCase("give -p PORT, or both -g GROUPPORT and -s SERVERPORT", "-A", "-i", "10.0.0.1", "-m", "224.1.2.3")]
    [TestCase("give -p PORT, or both -g GROUPPORT and -s SERVERPORT", "-A", "-i", "10.0.0.1", "-g", "5", "-m", "224.1.2.3")]
    [TestCase("-p (kernel dialect) does not go with -g/-s", "-A", "-i", "10.0.0.1", "-p", "5", "-s", "6", "-m", "224.1.2.3")]
    [TestCase("give exactly one of -p PORT, -g GROUPPORT, -s SERVERPORT", "-D", "-i", "10.0.0.1")]
    [TestCase("give exactly one of -p PORT, -g GROUPPORT, -s SERVERPORT", "-D", "-i", "10.0.0.1", "-p", "1", "-g", "2")]
    [TestCase("option -i is required here", "-D", "-p", "5000")]
    [TestCase("ip 10.0.0.300 is invalid!", "-A", "-i", "10.0.0.300", "-p", "5000", "-m", "224.1.2.3")]
    [TestCase("ip 1.2.3.4 is not a multicast", "-A", "-i", "10.0.0.1", "-p", "5000", "-m", "1.2.3.4")]
    [TestCase("should be smaller than 65536", "-A", "-i", "10.0.0.1", "-p", "99999", "-m", "224.1.2.3")]
    [TestCase("is not a positive integer", "-A", "-i", "10.0.0.1", "-p", "0x10", "-m", "224.1.2.3")]
    [TestCase("is not a positive integer", "-A", "-i", "10.0.0.1", "-g", "", "-s", "5", "-m", "224.1.2.3")]
    [TestCase("option -p repeated", "-A", "-i", "10.0.0.1", "-p", "1", "-p", "2", "-m", "224.1.2.3")]
    [TestCase("option -i repeated", "-D", "-i", "10.0.0.1", "-i", "10.0.0.2", "-p", "1")]
    [TestCase("clear option error: -i does not go with -C", "-C", "-i", "10.0.0.1")]
    [TestCase("list option error: -i does not go with -L", "-L", "-i", "10.0.0.1")]
    [TestCase("invalid option -- 'q'", "-A", "-i", "10.0.0.1", "-p", "1", "-m", "224.1.2.3", "-q", "1.1.1.1")]
    [TestCase("options -A and -C cannot be used together", "-A", "-C")]
    [TestCase("a port needs -i SERVER_IP", "-P", "-p", "5000")]
    [TestCase("invalid option -- 'S'", "-S")]
    [TestCase("unrecognized option '--multi-ip'", "--multi-ip", "224.1.2.3")]
    [TestCase("--engine goes with -R only", "-L", "--engine", "socket")]
    [TestCase("unknown delivery 'fast' (expected nft or raw)", "-R", "--delivery", "fast")]
    public void Usage_errors(string message, params string[] args)
    {
        File.WriteAllText(ConfigFile, """{"multi_server_info_array":[{"server_ip":"10.9.9.9","server_port":999,"group_ip":"239.9.9.9","group_port":0}]}""");
        string before = File.ReadAllText(ConfigFile);
        ToolResult r = Admin(args);
        r.AssertOneLineError(message);
        Assert.That(r.Exit, Is.EqualTo(2), r.ToString());
        Assert.That(r.Out, Is.EqualTo("Try 'multic_admin --help' for more information.\n"));
        Assert.That(File.ReadAllText(ConfigFile), Is.EqualTo(before));
    }

    [TestCase("224.0.0.1")]
    [TestCase("0.0.0.0")]
    [TestCase("255.255.255.255")]
    public void Server_must_be_a_unicast_host(string server)
    {
        ToolResult r = Admin("-A", "-i", server, "-p", "5000", "-m", "224.1.2.3");
        r.AssertOneLineError($"server {server} is not a unicast host address");
        Assert.That(File.Exists(ConfigFile), Is.False);
    }

    [Test]
    public void Kernel_generator_file_with_string_port_is_read()
    {
        // conf_auto_make_script writes client_port as a string.
        File.WriteAllText(ConfigFile, """{"multi_server_info_array":[{"server_ip":"10.0.0.5","group_ip":"224.1.2.3","client_port":"1234"}]}""");
        ToolResult r = Admin("-L");
        r.AssertOk();
        Assert.That(r.Out, Is.EqualTo("Configure Multicast Server 1:\nServer IP:  10.0.0.5\nUDP Port:  1234\nMulticast  IP:  224.1.2.3\n\n\n"));
    }
}
