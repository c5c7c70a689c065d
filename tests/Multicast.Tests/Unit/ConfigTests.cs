using NUnit.Framework;
using Multicast.Core.Config;
using Multicast.Core.Packets;

namespace Multicast.Tests.Unit;

public class ConfigTests
{
    private string _dir = "";

    [SetUp]
    public void MakeDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "multicast-unit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static uint Ip(string s) => IpAddressV4.Parse(s);

    [Test]
    public void LoadsTheSeedManualExampleWithItsTrailingComma()
    {
        // Verbatim from the product manual, trailing comma after member_array included.
        string path = Write(ServerConfig.FileName, """
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
        ServerConfig c = ServerConfig.Load(path);
        Assert.That(c.Groups, Has.Count.EqualTo(1));
        GroupConfig g = c.Groups[0];
        Assert.That(g.GroupIp, Is.EqualTo(Ip("224.1.2.3")));
        Assert.That(g.ServerPort, Is.EqualTo(65535));
        Assert.That(g.GroupPort, Is.EqualTo(65535));
        Assert.That(g.Members, Is.EqualTo(new[] { Ip("192.168.1.1"), Ip("192.168.1.2"), Ip("192.168.1.3") }));
    }

    [Test]
    public void HostsEndingIn255AreMembersAndServers()
    {
        // In a /23 or larger VPC subnet x.y.z.255 is an ordinary host; only 255.255.255.255 never is.
        string path = Write(ServerConfig.FileName, """
            {"multi_group_array":[{"group_ip":"224.1.1.1","member_array":["10.0.1.255","10.0.2.1"]}]}
            """);
        Assert.That(ServerConfig.Load(path).Groups[0].Members, Is.EqualTo(new[] { Ip("10.0.1.255"), Ip("10.0.2.1") }));
        var client = new ClientConfig([new ClientRouteConfig(Ip("10.0.1.255"), 7126, Ip("224.1.1.1"), 0)]);
        Assert.That(client.Routes[0].ServerIp, Is.EqualTo(Ip("10.0.1.255")));
    }

    [Test]
    public void LoadsServerFileWithSeveralGroupsAndOptionalPorts()
    {
        string path = Write(ServerConfig.FileName, """
            {"multi_group_array":[
              {"group_ip":"239.1.1.1","group_port":7127,"server_port":3456,"member_array":["2.2.2.2","3.3.3.3"]},
              {"group_ip":"224.2.2.1","member_array":["172.16.1.1"]},
              {"group_ip":"255.255.255.255","server_port":"9000"}
            ]}
            """);
        ServerConfig c = ServerConfig.Load(path);
        Assert.That(c.Groups.Select(g => g.GroupIp), Is.EqualTo(new[] { Ip("239.1.1.1"), Ip("224.2.2.1"), Ip("255.255.255.255") }));
        Assert.That(c.Groups[1].ServerPort, Is.Zero, "absent server_port = keep the application's port");
        Assert.That(c.Groups[2].ServerPort, Is.EqualTo(9000));
        Assert.That(c.Groups[2].Members, Is.Empty);
    }

    [Test]
    public void LoadsClientFileOfTheUserSpaceTool()
    {
        string path = Write(ClientConfig.FileName,
            """{"multi_server_info_array":[{"server_ip":"1.1.1.1","server_port":7126,"group_ip":"239.254.1.1","group_port":7127}]}""");
        ClientRouteConfig r = ClientConfig.Load(path).Routes.Single();
        Assert.That(r, Is.EqualTo(new ClientRouteConfig(Ip("1.1.1.1"), 7126, Ip("239.254.1.1"), 7127)));
    }

    [TestCase("1234")]
    [TestCase("\"1234\"")]
    public void LoadsKernelVariantClientPortAsNumberOrString(string port)
    {
        string path = Write(ClientConfig.FileName,
            $$"""{"multi_server_info_array":[{"server_ip":"10.0.0.1","group_ip":"224.2.2.1","client_port":{{port}}}]}""");
        ClientRouteConfig r = ClientConfig.Load(path).Routes.Single();
        Assert.That(r, Is.EqualTo(new ClientRouteConfig(Ip("10.0.0.1"), 1234, Ip("224.2.2.1"), 0)),
            "the port is the key and is kept on delivery");
    }

    [Test]
    public void KernelVariantClientPortZeroIsTheAnyPortWildcard()
    {
        string path = Write(ClientConfig.FileName,
            """{"multi_server_info_array":[{"server_ip":"10.0.0.1","group_ip":"224.2.2.1","client_port":0}]}""");
        Assert.That(ClientConfig.Load(path).Routes.Single().ServerPort, Is.Zero);
    }

    [Test]
    public void BrokenJsonNamesFileAndLineOnOneLine()
    {
        string path = Write(ServerConfig.FileName, "{\n  \"multi_group_array\": [\n    {\"group_ip\": 224.1.2.3}\n  ]\n}\n");
        var e = Assert.Throws<ConfigException>(() => ServerConfig.Load(path))!;
        Assert.That(e.Message, Does.Not.Contain('\n').And.Not.Contain('\r'));
        Assert.That(e.Message, Does.StartWith(path));
        Assert.That(e.Message, Does.Contain("line 3"));
    }

    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"224.1.2\"}]}", TestName = "Group with three parts")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"224.1.2.256\"}]}", TestName = "Group part over 255")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":3758096387}]}", TestName = "Group as a number")]
    [TestCase("{\"multi_group_array\":[{\"member_array\":[\"1.1.1.1\"]}]}", TestName = "Group missing")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"10.0.0.1\"}]}", TestName = "Group that is unicast")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"224.1.1.1\",\"member_array\":[\"1.1.1\"]}]}", TestName = "Member with three parts")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"224.1.1.1\",\"member_array\":[\"garbage\"]}]}", TestName = "Member garbage")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"224.1.1.1\",\"member_array\":[\"239.1.1.1\"]}]}", TestName = "Member multicast")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"224.1.1.1\",\"member_array\":[\"255.255.255.255\"]}]}", TestName = "Member limited broadcast")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"224.1.1.1\",\"member_array\":[\"0.0.0.0\"]}]}", TestName = "Member zero")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"10.1.1.255\"},{\"group_ip\":\"224.1.1.1\",\"member_array\":[\"10.1.1.255\"]}]}", TestName = "Member that is a group")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"224.1.1.1\"},{\"group_ip\":\"224.1.1.1\"}]}", TestName = "Group twice")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"224.1.1.1\",\"server_port\":65536}]}", TestName = "Port over 65535")]
    [TestCase("{\"multi_group_array\":[{\"group_ip\":\"224.1.1.1\",\"server_port\":\"12ab\"}]}", TestName = "Port not numeric")]
    [TestCase("{\"multi_group_array\":{}}", TestName = "Array that is an object")]
    public void InvalidServerValuesAreRejectedNamingTheFile(string json)
    {
        string path = Write(ServerConfig.FileName, json);
        var e = Assert.Throws<ConfigException>(() => ServerConfig.Load(path))!;
        Assert.That(e.Message, Does.Not.Contain('\n'));
        Assert.That(e.Message, Does.StartWith(path + ": "), "the user must learn which file to fix");
    }

    [TestCase("{\"multi_server_info_array\":[{\"server_ip\":\"10.0.0\",\"group_ip\":\"224.1.1.1\"}]}", TestName = "Client server with three parts")]
    [TestCase("{\"multi_server_info_array\":[{\"server_ip\":\"224.0.0.1\",\"group_ip\":\"224.1.1.1\"}]}", TestName = "Client server multicast")]
    [TestCase("{\"multi_server_info_array\":[{\"server_ip\":\"10.0.0.1\",\"group_ip\":\"10.1.1.1\"}]}", TestName = "Client group unicast")]
    [TestCase("{\"multi_server_info_array\":[{\"server_ip\":\"10.0.0.1\",\"group_ip\":\"224.1.1.1\",\"server_port\":5},{\"server_ip\":\"10.0.0.1\",\"group_ip\":\"224.1.1.2\",\"server_port\":5}]}", TestName = "Client route twice")]
    [TestCase("{\"multi_server_info_array\":[{\"server_ip\":\"10.0.0.1\",\"group_ip\":\"224.1.1.1\",\"client_port\":-1}]}", TestName = "Client port negative")]
    public void InvalidClientValuesAreRejected(string json)
    {
        string path = Write(ClientConfig.FileName, json);
        var e = Assert.Throws<ConfigException>(() => ClientConfig.Load(path))!;
        Assert.That(e.Message, Does.StartWith(path + ": "));
    }

    [Test]
    public void MissingFileIsAConfigException()
    {
        var e = Assert.Throws<ConfigException>(() => ServerConfig.Load(Path.Combine(_dir, "absent.json")))!;
        Assert.That(e.Message, Does.Contain("absent.json"));
    }

    [Test]
    public void DuplicateMembersAreKeptOnceInFirstSeenOrder()
    {
        string path = Write(ServerConfig.FileName,
            """{"multi_group_array":[{"group_ip":"224.1.1.1","member_array":["1.1.1.2","1.1.1.1","1.1.1.2"," 1.1.1.1 ","1.1.1.3"]}]}""");
        Assert.That(ServerConfig.Load(path).Groups[0].Members, Is.EqualTo(new[] { Ip("1.1.1.2"), Ip("1.1.1.1"), Ip("1.1.1.3") }));
    }

    [Test]
    public void ServerSaveThenLoadRoundTrips()
    {
        var config = new ServerConfig(
        [
            new GroupConfig(Ip("224.1.2.3"), 65535, 65535, [Ip("192.168.1.1"), Ip("192.168.1.2")]),
            new GroupConfig(Ip("239.9.9.9"), 0, 0, []),
            new GroupConfig(Ip("10.0.0.255"), 5, 6, [Ip("10.0.0.1")]),
        ]);
        string path = Path.Combine(_dir, "sub", ServerConfig.FileName);
        config.Save(path);
        ServerConfig loaded = ServerConfig.Load(path);

        Assert.That(loaded.Groups, Has.Count.EqualTo(3));
        for (int i = 0; i < 3; i++)
        {
            Assert.That(loaded.Groups[i].GroupIp, Is.EqualTo(config.Groups[i].GroupIp));
            Assert.That(loaded.Groups[i].GroupPort, Is.EqualTo(config.Groups[i].GroupPort));
            Assert.That(loaded.Groups[i].ServerPort, Is.EqualTo(config.Groups[i].ServerPort));
            Assert.That(loaded.Groups[i].Members, Is.EqualTo(config.Groups[i].Members));
        }
    }

    [Test]
    public void ClientSaveThenLoadRoundTripsIncludingKernelStyleRoutes()
    {
        var config = new ClientConfig(
        [
            new ClientRouteConfig(Ip("10.0.0.1"), 7126, Ip("239.254.1.1"), 7127),
            new ClientRouteConfig(Ip("10.0.0.1"), 0, Ip("224.2.2.1"), 0),
            new ClientRouteConfig(Ip("10.0.0.2"), 1234, Ip("255.255.255.255"), 0),
        ]);
        string path = Path.Combine(_dir, ClientConfig.FileName);
        config.Save(path);
        Assert.That(ClientConfig.Load(path).Routes, Is.EqualTo(config.Routes));
    }

    [Test]
    public void AtomicSaveReplacesTheFileAndLeavesNoTemporaryFiles()
    {
        string path = Path.Combine(_dir, ServerConfig.FileName);
        File.WriteAllText(path, "old contents");
        for (int i = 1; i <= 5; i++)
            new ServerConfig([new GroupConfig(Ip("224.1.1.1"), 0, (ushort)i, [Ip("10.0.0.1")])]).Save(path);

        Assert.That(Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { ServerConfig.FileName }));
        Assert.That(ServerConfig.Load(path).Groups[0].ServerPort, Is.EqualTo(5));
    }
}
