using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Multicast.Cli.Lab;

public enum DaemonKind { Server, Client }

/// <summary>A running multis/multic in a lab host, with its private config directory (MULTICAST_CONFIG_DIR).</summary>
public sealed class LabDaemon
{
    public DaemonKind Kind { get; }
    public LabHost Host { get; }
    public string Engine { get; }
    public string ConfigDir { get; }
    public LabProcess Process { get; }

    internal LabDaemon(DaemonKind kind, LabHost host, string engine, string configDir, LabProcess process)
    {
        Kind = kind; Host = host; Engine = engine; ConfigDir = configDir; Process = process;
    }

    public string ConfigFile => Path.Combine(ConfigDir, Kind == DaemonKind.Server ? "server_cfg.json.txt" : "client_cfg.json.txt");
    public string PidFile => Path.Combine(ConfigDir, Kind == DaemonKind.Server ? "multis.pid" : "multic.pid");
    public string StatsFile => Path.Combine(ConfigDir, Kind == DaemonKind.Server ? "server_stats.json" : "client_stats.json");

    public bool IsRunning => !Process.HasExited;

    /// <summary>Waits until the daemon has written its PID file (its data plane is open).</summary>
    internal void WaitReady(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (Process.HasExited)
            {
                Process.WaitForExit(TimeSpan.FromSeconds(1));
                throw new InvalidOperationException($"{Process.Description} exited with code {Process.ExitCode} before it was ready; stderr: {Process.Stderr.Trim()}");
            }
            if (File.Exists(PidFile) && File.ReadAllText(PidFile).Trim() == Process.Id.ToString()) return;
            Thread.Sleep(20);
        }
        throw new TimeoutException($"{Process.Description} wrote no {Path.GetFileName(PidFile)} within {timeout.TotalSeconds:0.#} s; stderr: {Process.Stderr.Trim()}");
    }

    /// <summary>The "counters" object of the stats file (empty if the daemon has not written it yet).</summary>
    public IReadOnlyDictionary<string, long> ReadCounters()
    {
        var result = new Dictionary<string, long>();
        string text;
        try { text = File.ReadAllText(StatsFile); }
        catch (FileNotFoundException) { return result; }
        try
        {
            if (JsonNode.Parse(text)?["counters"] is JsonObject counters)
                foreach (var (k, v) in counters)
                    if (v is JsonValue value && value.TryGetValue(out long n)) result[k] = n;
        }
        catch (JsonException) { } // caught mid-rewrite by a non-atomic writer: the next poll reads a whole file
        return result;
    }

    public long Counter(string name) => ReadCounters().TryGetValue(name, out long v) ? v : 0;

    /// <summary>Polls the stats file (rewritten every second) until <paramref name="done"/> holds; returns the last read.</summary>
    public IReadOnlyDictionary<string, long> WaitForCounters(Func<IReadOnlyDictionary<string, long>, bool> done, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        IReadOnlyDictionary<string, long> c = ReadCounters();
        while (!done(c) && sw.Elapsed < timeout)
        {
            Thread.Sleep(100);
            c = ReadCounters();
        }
        return c;
    }

    /// <summary>Replaces the config file atomically and sends SIGHUP.</summary>
    public void Reload(string configJson)
    {
        string tmp = ConfigFile + ".tmp";
        File.WriteAllText(tmp, configJson);
        File.Move(tmp, ConfigFile, overwrite: true);
        Process.Signal(Signals.Hup);
    }

    /// <summary>SIGTERM and wait; true when the daemon exited by itself within the grace period.</summary>
    public bool Stop(TimeSpan? grace = null) => Process.Stop(grace ?? TimeSpan.FromSeconds(5));

    public override string ToString() => Process.ToString();
}
