using NUnit.Framework;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;

namespace Multicast.Tests.Admin;

/// <summary>What one run of a tool printed and returned.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed record ToolResult(int Exit, string Out, string Err)
{
    public override string ToString() => $"exit {Exit}\n--- stdout ---\n{Out}--- stderr ---\n{Err}";

    /// <summary>The error contract of every tool: non-zero exit and exactly one line on stderr.</summary>
    public void AssertOneLineError(string? contains = null)
    {
        Assert.That(Exit, Is.Not.EqualTo(0), ToString());
        string[] lines = Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), ToString());
        Assert.That(lines[0], Does.StartWith("error: "), ToString());
        if (contains is not null) Assert.That(lines[0], Does.Contain(contains), ToString());
    }

    public void AssertOk()
    {
        Assert.That(Exit, Is.EqualTo(0), ToString());
        Assert.That(Err, Is.Empty, ToString());
    }
}

/// <summary>
/// Runs the published tools (out/bin launchers over out/app/multicast) as real processes, the way users run them;
/// the tests therefore cover argument handling, exit codes and output exactly as shipped.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static partial class AdminHarness
{
    private static readonly Lazy<string> Root = new(FindRepoRoot);

    public static string RepoRoot => Root.Value;
    public static string Bin(string tool) => Path.Combine(RepoRoot, "out", "bin", tool);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "build.sh")))
            {
                string app = Path.Combine(dir.FullName, "out", "app", "multicast");
                if (!File.Exists(app)) Assert.Fail($"{app} is missing: run ./build.sh before the Admin tests");
                return dir.FullName;
            }
        }
        Assert.Fail("cannot find the repository root (no build.sh above the test assembly)");
        return "";
    }

    public static bool IsRoot => geteuid() == 0;

    public static void RequireRoot()
    {
        if (!IsRoot) Assert.Ignore("needs root (packet socket, network namespaces, setpriv); CI runs as root");
    }

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    public const int SIGKILL = 9, SIGTERM = 15, SIGINT = 2, SIGHUP = 1;

    public static void Signal(int pid, int signal) => kill(pid, signal);

    /// <summary>Starts a tool; the caller waits (or kills it) through the returned handle.</summary>
    public static RunningTool Start(string configDir, string tool, IEnumerable<string> args, string? stdin = null,
        string[]? prefix = null)
    {
        var psi = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (prefix is { Length: > 0 })
        {
            psi.FileName = prefix[0];
            foreach (string a in prefix[1..]) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(Bin(tool));
        }
        else psi.FileName = Bin(tool);
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["MULTICAST_CONFIG_DIR"] = configDir;
        psi.Environment.Remove("INVOCATION_ID");
        var p = Process.Start(psi)!;
        var running = new RunningTool(p);
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        return running;
    }

    public static ToolResult Run(string configDir, string tool, params string[] args) =>
        Start(configDir, tool, args).Wait();

    public static ToolResult RunWithInput(string configDir, string tool, string stdin, params string[] args) =>
        Start(configDir, tool, args, stdin).Wait();

    /// <summary>Runs a tool as the unprivileged user nobody (uid/gid 65534, no supplementary groups).</summary>
    public static ToolResult RunAsNobody(string configDir, string tool, params string[] args) =>
        Start(configDir, tool, args, prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]).Wait();

    /// <summary>Runs a shell command (build.sh, rpm, dpkg-deb) and returns what it printed.</summary>
    public static ToolResult Shell(string command, IDictionary<string, string>? env = null, int timeoutSeconds = 300)
    {
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        if (env is not null) foreach ((string k, string v) in env) psi.Environment[k] = v;
        var running = new RunningTool(Process.Start(psi)!);
        return running.Wait(TimeSpan.FromSeconds(timeoutSeconds));
    }

    public static JsonObject ReadJson(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    /// <summary>The server file as (group, server_port, group_port, members) for compact assertions.</summary>
    public static List<(string Group, int ServerPort, int GroupPort, string[] Members)> ServerGroups(string dir) =>
        ReadJson(Path.Combine(dir, "server_cfg.json.txt"))["multi_group_array"]!.AsArray()
            .Select(n => (n!["group_ip"]!.GetValue<string>(), n["server_port"]!.GetValue<int>(), n["group_port"]!.GetValue<int>(),
                n["member_array"]!.AsArray().Select(m => m!.GetValue<string>()).ToArray()))
            .ToList();

    public static List<(string Server, int ServerPort, string Group, int GroupPort)> ClientRoutes(string dir) =>
        ReadJson(Path.Combine(dir, "client_cfg.json.txt"))["multi_server_info_array"]!.AsArray()
            .Select(n => (n!["server_ip"]!.GetValue<string>(), n["server_port"]!.GetValue<int>(),
                n["group_ip"]!.GetValue<string>(), n["group_port"]!.GetValue<int>()))
            .ToList();
}

/// <summary>A started process whose output is drained concurrently, so a chatty tool never blocks on a full pipe.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RunningTool
{
    private readonly Task<string> _out;
    private readonly Task<string> _err;
    public Process Process { get; }
    public int Pid => Process.Id;

    public RunningTool(Process p)
    {
        Process = p;
        _out = p.StandardOutput.ReadToEndAsync();
        _err = p.StandardError.ReadToEndAsync();
    }

    public ToolResult Wait(TimeSpan? timeout = null)
    {
        if (!Process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            Process.Kill(entireProcessTree: true);
            Assert.Fail($"{Process.StartInfo.FileName} {string.Join(' ', Process.StartInfo.ArgumentList)} did not finish in time");
        }
        Process.WaitForExit();
        var r = new ToolResult(Process.ExitCode, _out.Result, _err.Result);
        Process.Dispose();
        return r;
    }
}

/// <summary>A temporary MULTICAST_CONFIG_DIR, removed afterwards (with any daemon still running in it).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ConfigDir : IDisposable
{
    public string Path { get; }
    private readonly List<Daemon> _daemons = new();

    public ConfigDir()
    {
        Path = Directory.CreateTempSubdirectory("mc-admin-").FullName;
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public ToolResult Run(string tool, params string[] args) => AdminHarness.Run(Path, tool, args);

    /// <summary>Starts a daemon (multis or multic) in its own network namespace; see <see cref="Daemon"/>.</summary>
    public Daemon StartDaemon(string role, IDictionary<string, string>? environment = null, bool waitReady = true)
    {
        var d = Daemon.Start(this, role, environment, waitReady);
        _daemons.Add(d);
        return d;
    }

    public void Dispose()
    {
        foreach (Daemon d in _daemons) d.Kill();
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// `multis_admin -R` / `multic_admin -R` with the socket engine on "lo" of a private network namespace (unshare
/// --net): nothing it does reaches the host's interfaces or nftables, while its control socket, a path in the
/// config directory, stays reachable from the test.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class Daemon
{
    private readonly ConfigDir _dir;
    public string Role { get; }
    public Process Process { get; }
    public int Pid { get; }

    private Daemon(ConfigDir dir, string role, Process process)
    {
        _dir = dir;
        Role = role;
        Process = process;
        Pid = process.Id;
    }

    public string PidFile => _dir.File($"{Role}.pid");
    public string SocketPath => _dir.File($"{Role}.sock");
    public string OutputFile => _dir.File($"{Role}.daemon-output.txt");

    public static Daemon Start(ConfigDir dir, string role, IDictionary<string, string>? environment = null, bool waitReady = true)
    {
        string tool = role == "multis" ? "multis_admin" : "multic_admin";
        string output = System.IO.Path.Combine(dir.Path, $"{role}.daemon-output.txt");
        // unshare and bash exec: the daemon keeps this process's pid, so the pid file tells when *this* one is ready.
        string script = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && " +
                        $"exec '{AdminHarness.Bin(tool)}' -R --engine socket --interface lo >>'{output}' 2>&1";
        var psi = new ProcessStartInfo("unshare") { UseShellExecute = false };
        foreach (string a in new[] { "--net", "bash", "-c", script }) psi.ArgumentList.Add(a);
        psi.Environment["MULTICAST_CONFIG_DIR"] = dir.Path;
        psi.Environment.Remove("INVOCATION_ID");
        if (environment is not null) foreach ((string k, string v) in environment) psi.Environment[k] = v;
        var d = new Daemon(dir, role, Process.Start(psi)!);
        if (waitReady) d.WaitReady();
        return d;
    }

    private void WaitReady()
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (Process.HasExited)
                Assert.Fail($"{Role} daemon exited with {Process.ExitCode}: {ReadOutput()}");
            try
            {
                if (System.IO.File.Exists(PidFile) && System.IO.File.ReadAllText(PidFile).Trim() == Pid.ToString()
                    && System.IO.File.Exists(SocketPath))
                    return;
            }
            catch (IOException) { }
            Thread.Sleep(20);
        }
        Kill();
        Assert.Fail($"{Role} daemon not ready after 20 s: {ReadOutput()}");
    }

    public string ReadOutput() => System.IO.File.Exists(OutputFile) ? System.IO.File.ReadAllText(OutputFile) : "";

    /// <summary>Sends UDP datagrams to a group from inside the daemon's namespace (loopback only).</summary>
    public void SendToGroup(string group, int port, int count)
    {
        ToolResult r = AdminHarness.Shell(
            $"nsenter --net=/proc/{Pid}/ns/net bash -c 'for i in $(seq {count}); do printf hello > /dev/udp/{group}/{port}; done'");
        Assert.That(r.Exit, Is.EqualTo(0), r.ToString());
    }

    /// <summary>Signals the daemon, never a process that took over its pid after it ended.</summary>
    public void Signal(int signal)
    {
        Assert.That(Process.HasExited, Is.False, $"{Role} daemon exited unexpectedly: {ReadOutput()}");
        AdminHarness.Signal(Pid, signal);
    }

    /// <summary>SIGTERM, then the exit code (a clean stop is 0).</summary>
    public int Stop()
    {
        Signal(AdminHarness.SIGTERM);
        if (!Process.WaitForExit(15000)) { Kill(); Assert.Fail($"{Role} did not stop on SIGTERM"); }
        return Process.ExitCode;
    }

    public void Kill()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill();
                Process.WaitForExit(10000);
            }
        }
        catch (InvalidOperationException) { }
    }
}
