using System.Globalization;

namespace Multicast.Cli.Tools;

/// <summary>
/// CPU time read from /proc: one process's (utime + stime) and the whole machine's (every CPU's idle and stolen time).
/// The bench puts them side by side to show how much of the machine a system needs at a given rate.
/// </summary>
public static class CpuTime
{
    /// <summary>/proc counts in USER_HZ clock ticks, 1/100 s on every Linux ABI this runs on (x86-64, arm64).</summary>
    internal const double TicksPerSecond = 100;

    /// <summary>utime + stime of a process in seconds (the counter the daemons report as process.cpu_seconds); 0 if it is gone.</summary>
    public static double OfProcess(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
            return (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { return 0; }
    }

    /// <summary>The machine's CPU time so far (the "cpu" line of /proc/stat), or null where there is no /proc/stat.</summary>
    public static MachineCpu? OfMachine()
    {
        try
        {
            string? line = File.ReadLines("/proc/stat").FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            return line is null ? null : MachineCpu.Parse(line, Environment.ProcessorCount);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { return null; }
    }
}

/// <summary>
/// CPU seconds of all CPUs together that were idle (idle + iowait) or stolen (the hypervisor ran something else while a
/// vCPU wanted to run). Busy time is what is left of the wall time, not /proc/stat's own busy fields: with a tickless
/// kernel those are sampled at the tick, and a CPU that works in bursts shorter than a tick between idle spells never
/// sees one (measured here: under the bench's load the fields summed to 140–150 of 200 ticks per second, while the
/// idle time, which the kernel measures at each idle entry and exit, matched the processes' own CPU time).
/// </summary>
public readonly record struct MachineCpu(double IdleSeconds, double StealSeconds, int Cpus)
{
    /// <summary>Parses /proc/stat's aggregate line: "cpu  user nice system idle iowait irq softirq steal guest guest_nice".</summary>
    public static MachineCpu Parse(string line, int cpus)
    {
        long[] t = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        long steal = t.Length > 7 ? t[7] : 0;
        return new MachineCpu((t[3] + t[4]) / CpuTime.TicksPerSecond, steal / CpuTime.TicksPerSecond, cpus);
    }

    /// <summary>For a difference of two readings <paramref name="wallSeconds"/> apart: the CPU seconds the machine worked.</summary>
    public double BusySeconds(double wallSeconds) => Math.Max(0, Cpus * wallSeconds - IdleSeconds - StealSeconds);

    public static MachineCpu operator -(MachineCpu after, MachineCpu before) =>
        new(after.IdleSeconds - before.IdleSeconds, after.StealSeconds - before.StealSeconds, after.Cpus);
}
