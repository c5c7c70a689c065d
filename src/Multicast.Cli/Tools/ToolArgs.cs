using System.Globalization;
using System.Net;

namespace Multicast.Cli.Tools;

/// <summary>
/// "--name value", "--name=value" and "--flag" parsing for the traffic tools, the demo and the benchmark. Unknown or repeated options are usage errors so a typo
/// in a test harness fails loudly instead of silently running with defaults.
/// </summary>
internal sealed class ToolArgs
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly string? _missingValue;

    public ToolArgs(string[] args, IReadOnlySet<string> flags)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"unexpected argument '{a}'");
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (!flags.Contains(name))
            {
                // Said when the command asks for it, so a mistyped last flag is reported as unknown instead.
                if (i + 1 >= args.Length) _missingValue = name;
                else value = args[++i];
            }
            if (!_values.TryAdd(name, value)) throw new UsageException($"option --{name} repeated");
        }
    }

    public bool Has(string name) { _used.Add(name); return _values.ContainsKey(name); }

    public string? String(string name)
    {
        _used.Add(name);
        if (name == _missingValue) throw new UsageException($"option --{name} needs a value");
        return _values.TryGetValue(name, out string? v) ? v : null;
    }

    public string RequiredString(string name) => String(name) ?? throw new UsageException($"option --{name} is required");

    public long Long(string name, long fallback, long min = long.MinValue, long max = long.MaxValue)
    {
        string? s = String(name);
        return s is null ? fallback : ParseLong(name, s, min, max);
    }

    public double Double(string name, double fallback, double min, double max)
    {
        string? s = String(name);
        return s is null ? fallback : ParseDouble(name, s, min, max);
    }

    /// <summary>A comma-separated list of integers, each in [min, max]; null when the option is absent.</summary>
    public long[]? Longs(string name, long min, long max) =>
        Items(name)?.Select(s => ParseLong(name, s, min, max)).ToArray();

    /// <summary>A comma-separated list of numbers, each in [min, max]; null when the option is absent.</summary>
    public double[]? Doubles(string name, double min, double max) =>
        Items(name)?.Select(s => ParseDouble(name, s, min, max)).ToArray();

    private string[]? Items(string name) => String(name)?.Split(',', StringSplitOptions.TrimEntries);

    private static long ParseLong(string name, string s, long min, long max) =>
        long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= min && v <= max
            ? v : throw new UsageException($"option --{name}: '{s}' is not an integer in [{min}, {max}]");

    private static double ParseDouble(string name, string s, double min, double max) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max
            ? v : throw new UsageException($"option --{name}: '{s}' is not a number in [{min}, {max}]");

    public IPAddress? Address(string name)
    {
        string? s = String(name);
        if (s is null) return null;
        if (!IPAddress.TryParse(s, out IPAddress? a) || a.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            throw new UsageException($"option --{name}: '{s}' is not an IPv4 address");
        return a;
    }

    public IPAddress RequiredAddress(string name) => Address(name) ?? throw new UsageException($"option --{name} is required");

    /// <summary>Call after reading every option the command knows, so leftovers are reported.</summary>
    public void RejectUnknown()
    {
        foreach (string k in _values.Keys)
            if (!_used.Contains(k)) throw new UsageException($"unknown option --{k}");
    }
}
