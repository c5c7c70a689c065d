namespace Multicast.Cli.Admin;

/// <summary>One option the admin tools accept: short letter, long names, whether it takes a value.</summary>
public sealed record OptionSpec(char Short, string[] Long, bool TakesValue);

/// <summary>
/// getopt_long-style parsing for the admin tools: "-m G", "-mG", "--multiip G", "--multiip=G". A repeated option or
/// an unknown one is a usage error (one line), never silently ignored.
/// </summary>
public sealed class ParsedOptions
{
    private readonly Dictionary<char, string?> _values = new();
    public List<char> Order { get; } = new();
    public List<string> DaemonArgs { get; } = new();

    public bool Has(char option) => _values.ContainsKey(option);
    public string? Value(char option) => _values.TryGetValue(option, out string? v) ? v : null;

    public static ParsedOptions Parse(string[] args, IReadOnlyList<OptionSpec> specs, Func<string, bool>? passThrough = null)
    {
        var result = new ParsedOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (passThrough is not null && passThrough(a))
            {
                // Daemon options (--interface IF, --engine E) are handled by the daemon parser.
                result.DaemonArgs.Add(a);
                if (!a.Contains('=') && i + 1 < args.Length) result.DaemonArgs.Add(args[++i]);
                continue;
            }
            OptionSpec? spec;
            string? inline = null;
            if (a.StartsWith("--"))
            {
                string name = a[2..];
                int eq = name.IndexOf('=');
                if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
                spec = specs.FirstOrDefault(s => s.Long.Contains(name));
                if (spec is null) throw new UsageException($"unrecognized option '{a}'");
            }
            else if (a.Length >= 2 && a[0] == '-')
            {
                spec = specs.FirstOrDefault(s => s.Short == a[1]);
                if (spec is null) throw new UsageException($"invalid option -- '{a[1]}'");
                if (a.Length > 2)
                {
                    if (!spec.TakesValue) throw new UsageException($"option -{a[1]} takes no value ('{a}')");
                    inline = a[2..];
                }
            }
            else throw new UsageException($"unexpected argument '{a}'");

            string? value = null;
            if (spec.TakesValue)
            {
                value = inline ?? (i + 1 < args.Length ? args[++i] : throw new UsageException($"option -{spec.Short} requires a value"));
            }
            else if (inline is not null) throw new UsageException($"option --{spec.Long[0]} takes no value");
            if (!result._values.TryAdd(spec.Short, value)) throw new UsageException($"option -{spec.Short} repeated");
            result.Order.Add(spec.Short);
        }
        return result;
    }
}

/// <summary>Value checks shared by both admin tools, with the messages users see.</summary>
public static class AdminValues
{
    public static uint Address(string text, char option)
    {
        if (!Core.Packets.IpAddressV4.TryParse(text, out uint a)) throw new UsageException($"ip {text} is invalid! (option -{option})");
        return a;
    }

    public static uint Group(string text, char option)
    {
        uint g = Address(text, option);
        if (!Core.Config.ServerConfig.IsGroupAddress(g))
            throw new UsageException($"ip {text} is not a multicast (224.0.0.0/4) or broadcast ip! (option -{option})");
        return g;
    }

    /// <summary>Decimal 0..65535 (the original's base-auto parse read "010" as 8: here it is 10).</summary>
    public static ushort Port(string text, char option)
    {
        if (text.Length == 0 || text.Any(c => c < '0' || c > '9'))
            throw new UsageException($"the value of option -{option} is not a positive integer: '{text}'");
        if (text.Length > 5 || int.Parse(text) > 65535)
            throw new UsageException($"the value of option -{option} should be smaller than 65536: {text}");
        return (ushort)int.Parse(text);
    }

    /// <summary>Comma-separated unicast members, de-duplicated in order.</summary>
    public static List<uint> Members(string text, char option)
    {
        var list = new List<uint>();
        foreach (string token in text.Split(','))
        {
            string t = token.Trim();
            if (t.Length == 0) throw new UsageException($"empty member in '{text}' (option -{option})");
            uint m = Address(t, option);
            if (Core.Packets.IpAddressV4.IsMulticast(m)) throw new UsageException($"member {t} is a multicast ip (option -{option})");
            if (m == Core.Config.ServerConfig.LimitedBroadcast) throw new UsageException($"member {t} is a broadcast ip (option -{option})");
            if (m == 0) throw new UsageException($"member {t} is not a host address (option -{option})");
            if (!list.Contains(m)) list.Add(m);
        }
        return list;
    }
}
