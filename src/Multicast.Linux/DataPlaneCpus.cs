using System.Globalization;

namespace Multicast.Linux;

/// <summary>
/// The CPUs the data-plane thread is pinned to (`--cpu LIST`, e.g. `3` or `2,3` or `4-7`). On a host with cores to
/// spare, a data plane on a core of its own (ideally one the kernel keeps other work off, `isolcpus`) never waits
/// behind the publisher or anything else for a CPU; the original proxy had no affinity at all. Only the data-plane
/// thread is pinned: the daemon's housekeeping threads stay wherever the scheduler puts them. On the 2-vCPU lab of
/// bench/PERFORMANCE.md pinning did not pay (the publisher, receivers and proxy share both CPUs), so it is off by default.
/// </summary>
public sealed record DataPlaneCpus(IReadOnlyList<int> Cpus)
{
    /// <summary>"3", "2,3", "4-7" or a mix ("0,4-5"); each CPU a number below <see cref="ThreadScheduling.MaxCpus"/>.</summary>
    public static DataPlaneCpus Parse(string text)
    {
        var cpus = new SortedSet<int>();
        foreach (string part in text.Split(','))
        {
            string[] range = part.Split('-');
            if (range.Length > 2 || !TryCpu(range[0], out int first) || !TryCpu(range[^1], out int last) || last < first)
                throw new ArgumentException($"'{text}' is not a CPU list (e.g. 3, 2,3 or 4-7; CPUs 0 to {ThreadScheduling.MaxCpus - 1})");
            for (int cpu = first; cpu <= last; cpu++) cpus.Add(cpu);
        }
        return new DataPlaneCpus(cpus.ToArray());
    }

    private static bool TryCpu(string s, out int cpu) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out cpu) && cpu < ThreadScheduling.MaxCpus;

    /// <summary>Why this process cannot run on these CPUs (a CPU offline, or outside its cpuset or taskset), or null.</summary>
    public string? Problem()
    {
        IReadOnlyList<int> allowed = ThreadScheduling.AllowedCpus();
        int[] missing = Cpus.Where(c => !allowed.Contains(c)).ToArray();
        return missing.Length == 0 ? null
            : $"{(missing.Length == 1 ? "CPU" : "CPUs")} {string.Join(", ", missing)} {(missing.Length == 1 ? "is" : "are")} not available to this process (it may run on {Format(allowed)})";
    }

    /// <summary>Throws, with a one-line message, unless this process may run on every CPU of the list (Linux only).</summary>
    public void EnsureAvailable()
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("--cpu pins a thread on Linux only");
        if (Problem() is string problem) throw new InvalidOperationException($"--cpu {this}: {problem}");
    }

    /// <summary>Pins the calling thread; returns the errno on failure, else 0.</summary>
    public int ApplyToCurrentThread() => ThreadScheduling.SetCurrentThreadAffinity(Cpus);

    /// <summary>"0-1", "0,2-3": the list in the kernel's own notation.</summary>
    public static string Format(IReadOnlyList<int> cpus)
    {
        var parts = new List<string>();
        for (int i = 0; i < cpus.Count;)
        {
            int j = i;
            while (j + 1 < cpus.Count && cpus[j + 1] == cpus[j] + 1) j++;
            parts.Add(j == i ? cpus[i].ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{cpus[i]}-{cpus[j]}"));
            i = j + 1;
        }
        return string.Join(',', parts);
    }

    public override string ToString() => Format(Cpus);
}
