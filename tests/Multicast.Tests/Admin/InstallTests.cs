using NUnit.Framework;
using System.Security.Cryptography;

namespace Multicast.Tests.Admin;

/// <summary>
/// `./build.sh install|uninstall|package` into temporary roots (DESTDIR): never the live system, never systemctl.
/// </summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class InstallTests
{
    private const string Prefix = "/usr/local";
    private const string UnitDir = "/usr/local/lib/systemd/system";
    private static readonly string[] Tools = ["multicast", "multis_admin", "multic_admin", "server_reload_list", "client_reload_list"];

    private string _root = null!;

    [SetUp] public void SetUp() => _root = Directory.CreateTempSubdirectory("mc-destdir-").FullName;

    [TearDown] public void TearDown() => Directory.Delete(_root, recursive: true);

    private static ToolResult BuildSh(string verb, string destdir, IDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string> { ["DESTDIR"] = destdir, ["NO_BUILD"] = "1" };
        if (extra is not null) foreach ((string k, string v) in extra) env[k] = v;
        ToolResult r = AdminHarness.Shell($"./build.sh {verb}", env);
        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
        return r;
    }

    /// <summary>Every non-directory entry under a root, as absolute paths inside it.</summary>
    private static SortedSet<string> Entries(string root) =>
        new(Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Where(p => !Directory.Exists(p) || new FileInfo(p).LinkTarget is not null)
            .Select(p => p[root.Length..]), StringComparer.Ordinal);

    /// <summary>What install must put in place: the published app, five launchers, three units, the README.</summary>
    private static SortedSet<string> ExpectedEntries()
    {
        string app = Path.Combine(AdminHarness.RepoRoot, "out", "app");
        var expected = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string f in Directory.EnumerateFiles(app, "*", SearchOption.AllDirectories))
            expected.Add($"{Prefix}/lib/multicast/{Path.GetRelativePath(app, f)}");
        foreach (string t in Tools) expected.Add($"{Prefix}/bin/{t}");
        foreach (string u in new[] { "multis.service", "multic.service", "multis_monitord.service" }) expected.Add($"{UnitDir}/{u}");
        expected.Add($"{Prefix}/share/doc/multicast/README.md");
        return expected;
    }

    [Test]
    public void Install_puts_every_file_in_place()
    {
        BuildSh("install", _root);
        Assert.That(Entries(_root), Is.EqualTo(ExpectedEntries()));
        Assert.That(Directory.Exists(_root + "/etc/multicast"), Is.True);

        foreach (string t in Tools)
        {
            string launcher = $"{_root}{Prefix}/bin/{t}";
            Assert.That(File.GetUnixFileMode(launcher) & UnixFileMode.OtherExecute, Is.Not.EqualTo(UnixFileMode.None), t);
            string[] lines = File.ReadAllLines(launcher);
            Assert.That(lines[0], Is.EqualTo("#!/bin/sh"));
            // The launcher names the installed app by its final path (not the staging root).
            Assert.That(lines, Does.Contain($"exec {Prefix}/lib/multicast/multicast --as {t} \"$@\""));
        }
        // The staged app itself runs.
        var help = AdminHarness.Shell($"'{_root}{Prefix}/lib/multicast/multicast' --as multis_admin -H");
        Assert.That(help.Exit, Is.EqualTo(0), help.ToString());
        Assert.That(help.Out, Does.StartWith("multis_admin -- This command can be used to configure multicast server."));
    }

    [Test]
    public void Units_match_the_manual_service_names()
    {
        BuildSh("install", _root);
        string units = _root + UnitDir;
        Assert.That(new FileInfo($"{units}/multis_monitord.service").LinkTarget, Is.EqualTo("multis.service"),
            "multis_monitord is an alias of the server unit");
        foreach ((string unit, string tool) in new[] { ("multis", "multis_admin"), ("multic", "multic_admin") })
        {
            string[] lines = File.ReadAllLines($"{units}/{unit}.service");
            string exec = lines.Single(l => l.StartsWith("ExecStart="));
            Assert.That(exec, Does.StartWith($"ExecStart={Prefix}/bin/{tool} -R"));
            Assert.That(lines, Does.Contain("Restart=on-failure"));
            Assert.That(lines, Does.Contain("Type=notify"), "the daemon tells systemd when it is ready (SystemdNotifyTests)");
            Assert.That(lines, Does.Contain("ExecReload=/bin/kill -HUP $MAINPID"));
            Assert.That(lines, Does.Contain("After=network-online.target"));
            Assert.That(lines, Does.Contain("WantedBy=multi-user.target"));
            Assert.That(lines, Does.Contain("Environment=MULTICAST_CONFIG_DIR=/etc/multicast"));
        }
        if (AdminHarness.Shell("command -v systemd-analyze").Exit != 0) return;
        // systemd's own parser, on the staged tree: no key it would ignore, and the alias resolves to the server unit.
        // (Complaints about the staging root itself, e.g. a missing sysinit.target, are not about our units.)
        foreach (string name in new[] { "multis", "multic", "multis_monitord" })
        {
            ToolResult v = AdminHarness.Shell($"systemd-analyze --root='{_root}' verify {name}.service 2>&1");
            Assert.That(v.Out, Does.Not.Contain("ignoring").And.Not.Contain("Unknown"), v.ToString());
            Assert.That(v.Out, Does.Not.Match(@"bin/(multis|multic)_admin is not executable"), v.ToString());
            if (name == "multis_monitord") Assert.That(v.Out, Does.Contain("multis.service"), v.ToString());
        }
    }

    [Test]
    public void Install_never_overwrites_the_configuration_and_uninstall_keeps_it()
    {
        BuildSh("install", _root);
        string config = _root + "/etc/multicast/server_cfg.json.txt";
        const string mine = """{"multi_group_array":[{"group_ip":"224.1.2.3","member_array":["10.0.0.2"]}]}""";
        File.WriteAllText(config, mine);
        BuildSh("install", _root); // reinstall / upgrade
        Assert.That(File.ReadAllText(config), Is.EqualTo(mine));
        Assert.That(Entries(_root), Is.EqualTo(new SortedSet<string>(ExpectedEntries().Append("/etc/multicast/server_cfg.json.txt"), StringComparer.Ordinal)));

        BuildSh("uninstall", _root);
        Assert.That(Entries(_root), Is.EqualTo(new SortedSet<string>(["/etc/multicast/server_cfg.json.txt"], StringComparer.Ordinal)));
        Assert.That(File.ReadAllText(config), Is.EqualTo(mine));
        Assert.That(Directory.Exists($"{_root}{Prefix}/lib/multicast"), Is.False);
    }

    [Test]
    public void Prefix_moves_everything()
    {
        BuildSh("install", _root, new Dictionary<string, string> { ["PREFIX"] = "/opt/mc" });
        Assert.That(File.ReadAllText($"{_root}/opt/mc/bin/multis_admin"), Does.Contain("exec /opt/mc/lib/multicast/multicast --as multis_admin"));
        Assert.That(File.ReadAllText($"{_root}/etc/systemd/system/multis.service"), Does.Contain("ExecStart=/opt/mc/bin/multis_admin -R"));
        BuildSh("uninstall", _root, new Dictionary<string, string> { ["PREFIX"] = "/opt/mc" });
        Assert.That(Entries(_root), Is.Empty);
    }
}

/// <summary>The .rpm and .deb carry exactly what install puts in place (built once: it takes a few seconds).</summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class PackageTests
{
    private string _work = null!;
    private string _staged = null!;
    private string _packages = null!;

    [OneTimeSetUp]
    public void BuildPackages()
    {
        foreach (string tool in new[] { "dpkg-deb", "rpmbuild", "rpm" })
            if (AdminHarness.Shell($"command -v {tool}").Exit != 0)
                Assert.Ignore($"{tool} is not installed (apt-get install -y rpm dpkg-dev)");
        _work = Directory.CreateTempSubdirectory("mc-packages-").FullName;
        _staged = Path.Combine(_work, "root");
        _packages = Path.Combine(_work, "out");
        var env = new Dictionary<string, string> { ["NO_BUILD"] = "1", ["PACKAGE_DIR"] = _packages };
        ToolResult r = AdminHarness.Shell("./build.sh package", env);
        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
        env = new Dictionary<string, string> { ["NO_BUILD"] = "1", ["DESTDIR"] = _staged };
        r = AdminHarness.Shell("./build.sh install", env);
        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
    }

    [OneTimeTearDown]
    public void CleanUp()
    {
        if (_work is not null) Directory.Delete(_work, recursive: true);
    }

    private string Package(string pattern) => Directory.GetFiles(_packages, pattern).Single();

    /// <summary>path → "type digest" of every non-directory entry of the staged install.</summary>
    private SortedDictionary<string, string> Installed()
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string p in Directory.EnumerateFileSystemEntries(_staged, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(p);
            if (info.LinkTarget is not null) result[p[_staged.Length..]] = "l " + info.LinkTarget;
            else if (!Directory.Exists(p))
            {
                bool exec = (File.GetUnixFileMode(p) & UnixFileMode.UserExecute) != 0;
                result[p[_staged.Length..]] = (exec ? "x " : "- ") + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(p)));
            }
        }
        return result;
    }

    [Test]
    public void Rpm_payload_equals_install()
    {
        string rpm = Package("*.rpm");
        ToolResult r = AdminHarness.Shell(
            $"rpm -qp --qf '[%{{FILEMODES:perms}} %{{FILENAMES}} %{{FILEDIGESTS}} %{{FILELINKTOS}}\\n]' '{rpm}'");
        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
        var payload = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var dirs = new List<string>();
        foreach (string line in r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ');
            if (f[0][0] == 'd') { dirs.Add(f[1]); continue; }
            payload[f[1]] = f[0][0] == 'l' ? "l " + f[3] : (f[0][3] == 'x' ? "x " : "- ") + f[2];
        }
        Assert.That(payload, Is.EqualTo(Installed()));
        Assert.That(dirs, Does.Contain("/etc/multicast"));
        Assert.That(dirs, Does.Contain("/usr/local/lib/multicast"));
        Assert.That(dirs, Does.Not.Contain("/usr/local/bin"), "shared directories stay the system's");

        ToolResult scripts = AdminHarness.Shell($"rpm -qp --scripts '{rpm}'");
        Assert.That(scripts.Out, Does.Contain("systemctl enable multis.service multic.service"));
        Assert.That(scripts.Out, Does.Contain("/run/systemd/system"));
        string requires = AdminHarness.Shell($"rpm -qp --requires '{rpm}'").Out;
        Assert.That(requires, Does.Not.Contain("liblttng"), "no dependencies generated from the bundled runtime files");
        // The app is framework-dependent and the clients run nft: a fresh machine must pull both in.
        Assert.That(requires.Split('\n', StringSplitOptions.TrimEntries), Does.Contain("dotnet-runtime-10.0").And.Contain("nftables"));
        Assert.That(AdminHarness.Shell($"rpm -qp --recommends '{rpm}'").Out.Trim(), Is.EqualTo("libpcap"));
    }

    [Test]
    public void Deb_payload_equals_install()
    {
        string deb = Package("*.deb");
        string extracted = Path.Combine(_work, "deb");
        ToolResult r = AdminHarness.Shell($"dpkg-deb -x '{deb}' '{extracted}' && dpkg-deb -c '{deb}'");
        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
        var listed = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l[0] != 'd')
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[5][1..])
            .ToHashSet();
        var payload = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string p in Directory.EnumerateFileSystemEntries(extracted, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(p);
            if (info.LinkTarget is not null) payload[p[extracted.Length..]] = "l " + info.LinkTarget;
            else if (!Directory.Exists(p))
                payload[p[extracted.Length..]] = ((File.GetUnixFileMode(p) & UnixFileMode.UserExecute) != 0 ? "x " : "- ")
                                                 + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(p)));
        }
        Assert.That(payload, Is.EqualTo(Installed()));
        Assert.That(listed, Is.EquivalentTo(Installed().Keys), "dpkg-deb -c lists the same files");
        Assert.That(r.Out, Does.Contain("./etc/multicast/"));

        Assert.That(AdminHarness.Shell($"dpkg-deb -f '{deb}' Depends").Out.Trim(), Is.EqualTo("dotnet-runtime-10.0, nftables"));
        Assert.That(AdminHarness.Shell($"dpkg-deb -f '{deb}' Recommends").Out.Trim(), Is.EqualTo("libpcap0.8t64 | libpcap0.8"));

        ToolResult postinst = AdminHarness.Shell($"dpkg-deb --ctrl-tarfile '{deb}' | tar -xO ./postinst");
        Assert.That(postinst.Out, Does.Contain("systemctl enable multis.service multic.service"));
        Assert.That(postinst.Out, Does.Contain("/run/systemd/system"));
    }
}
