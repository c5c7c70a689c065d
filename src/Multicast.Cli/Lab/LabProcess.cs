using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;

namespace Multicast.Cli.Lab;

/// <summary>
/// A process the lab started (usually `ip netns exec NS ...`, which execs the command, so the PID is the command's).
/// Captures stdout line by line so callers can wait for readiness lines and read a final JSON result.
/// </summary>
public sealed partial class LabProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly object _gate = new();

    public string Description { get; }
    public int Id => _process.Id;

    internal LabProcess(ProcessStartInfo psi, string description)
    {
        Description = description;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        _process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_gate) { _stdout.Add(e.Data); Monitor.PulseAll(_gate); }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_gate) { if (_stderr.Length < 64 * 1024) _stderr.AppendLine(e.Data); }
        };
        _process.Exited += (_, _) => { lock (_gate) Monitor.PulseAll(_gate); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private int _disposed;

    /// <summary>True once the process is gone (or this handle was disposed, which kills it).</summary>
    public bool HasExited => Volatile.Read(ref _disposed) != 0 || _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IReadOnlyList<string> StdoutLines { get { lock (_gate) return _stdout.ToArray(); } }

    public string Stderr { get { lock (_gate) return _stderr.ToString(); } }

    /// <summary>Waits for a stdout line matching <paramref name="match"/>; fails early (with stderr) if the process exits.</summary>
    public string WaitForLine(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        lock (_gate)
        {
            int checkedLines = 0;
            while (true)
            {
                for (; checkedLines < _stdout.Count; checkedLines++)
                    if (match(_stdout[checkedLines])) return _stdout[checkedLines];
                if (_process.HasExited)
                {
                    // Exited fires before the last output events are drained; give them a moment.
                    Monitor.Wait(_gate, 200);
                    for (; checkedLines < _stdout.Count; checkedLines++)
                        if (match(_stdout[checkedLines])) return _stdout[checkedLines];
                    throw new InvalidOperationException($"{Description} exited with code {_process.ExitCode} before printing the expected line; stderr: {_stderr.ToString().Trim()}");
                }
                TimeSpan left = timeout - deadline.Elapsed;
                if (left <= TimeSpan.Zero)
                    throw new TimeoutException($"{Description} printed no expected line within {timeout.TotalSeconds:0.#} s; stdout: {string.Join(" | ", _stdout)}; stderr: {_stderr.ToString().Trim()}");
                Monitor.Wait(_gate, left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100));
            }
        }
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (Volatile.Read(ref _disposed) != 0) return true;
        if (!_process.WaitForExit(timeout)) return false;
        _process.WaitForExit(); // drains the redirected streams
        return true;
    }

    /// <summary>The last JSON object line on stdout (the tools' result line), after waiting for exit.</summary>
    public JsonObject WaitForJsonResult(TimeSpan timeout)
    {
        if (!WaitForExit(timeout))
            throw new TimeoutException($"{Description} did not exit within {timeout.TotalSeconds:0.#} s; stderr: {Stderr.Trim()}");
        string? line = StdoutLines.LastOrDefault(l => l.StartsWith('{'));
        if (line is null)
            throw new InvalidOperationException($"{Description} exited with code {ExitCode} without a JSON result; stderr: {Stderr.Trim()}");
        return JsonNode.Parse(line)!.AsObject();
    }

    public bool Signal(int signal) => !HasExited && kill(_process.Id, signal) == 0;

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>. Returns true if it exited on SIGTERM.</summary>
    public bool Stop(TimeSpan grace)
    {
        if (HasExited) return true;
        Signal(Signals.Term);
        if (WaitForExit(grace)) return true;
        Kill();
        return false;
    }

    public void Kill()
    {
        if (Volatile.Read(ref _disposed) != 0) return;
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }

    public void Dispose()
    {
        Kill();
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _process.Dispose();
    }

    public override string ToString() => $"{Description} (pid {_process.Id})";

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    internal static bool SendSignal(int pid, int signal) => kill(pid, signal) == 0;
}

public static class Signals
{
    public const int Hup = 1, Int = 2, Kill = 9, Term = 15;
}
