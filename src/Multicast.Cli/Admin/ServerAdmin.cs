using System.Text.Json.Nodes;
using Multicast.Cli.Daemon;
using Multicast.Core.Config;
using Multicast.Core.Packets;

namespace Multicast.Cli.Admin;

/// <summary>`multis_admin`: runs the server (-R) or configures it, with the seed manual's flags and layouts.</summary>
public static class ServerAdmin
{
    public const string UsageText = """
        multis_admin -- This command can be used to configure multicast server.
        Usage:
        multis_admin -A -m {multi_ip} -j {ip1,ip2,ip3...} -p port
        multis_admin -A -m {multi_ip} -q {ip1,ip2,ip3...}
        multis_admin -D -m {multi_ip}
        multis_admin -C
        multis_admin -P -m {multi_ip}
        multis_admin -L -m {multi_ip}
        multis_admin -S
        multis_admin -H
        multis_admin -R [--interface IF] [--engine ring|socket|pcap] [--idle adaptive|spin|yield|park[:MICROS]] [--nice N|BASE:BOOST] [--cpu LIST] [--rx-buffer SIZE] [--standby MICROS|off]
        Options:
        -A/--add add multicast group
        -D/--delete del multicast group
        -C/--clear clear multicast group
        -P/--stats packets statistic
        -S/--show show multicast group
        -L/--list list multicast group member
        -R/--run run the multicast server to transmit packages
        -H/--help help info
        -j/--join vm join multicast group
        -q/--quit vm quit multicast group
        -m/--multiip multicast ip
        -p/--port server port
        """;

    private static readonly OptionSpec[] Specs =
    [
        new('A', ["add"], false), new('D', ["delete"], false), new('C', ["clear"], false), new('P', ["stats"], false),
        new('L', ["list"], false), new('S', ["show"], false), new('H', ["help"], false), new('R', ["run"], false),
        new('j', ["join"], true), new('q', ["quit"], true), new('m', ["multiip", "multi_ip"], true), new('p', ["port"], true),
    ];

    private const string Commands = "ADCPLSHR";

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args is ["-help"]) return Help();
        ParsedOptions o = ParsedOptions.Parse(args, Specs, DaemonOptions.IsDaemonOption);
        char command = AdminCommand.Single(o, Commands);
        if (command != 'R' && o.DaemonArgs.Count > 0) throw new UsageException($"{o.DaemonArgs[0]} goes with -R only");
        var ctx = new AdminContext("multis");
        switch (command)
        {
            case 'H': return Help();
            case 'R': AdminCommand.Only(o, "R", "run"); return ServerDaemon.Run(DaemonOptions.Parse(o.DaemonArgs));
            case 'A': return Add(o, ctx);
            case 'D': AdminCommand.Only(o, "Dm", "del"); return Delete(AdminValues.Group(AdminCommand.Need(o, 'm'), 'm'), ctx);
            case 'C': AdminCommand.Only(o, "C", "clear"); return Clear(ctx);
            case 'P': AdminCommand.Only(o, "Pm", "stats"); return Stats(o.Value('m') is { } g ? AdminValues.Group(g, 'm') : null, ctx);
            case 'L': AdminCommand.Only(o, "Lm", "list"); return List(AdminValues.Group(AdminCommand.Need(o, 'm'), 'm'), ctx);
            default: AdminCommand.Only(o, "S", "show"); return Show(ctx);
        }
    }

    private static int Help()
    {
        Console.Out.WriteLine(UsageText);
        return 0;
    }

    private static ServerConfig Load(AdminContext ctx) =>
        File.Exists(ctx.ConfigPath) ? ServerConfig.Load(ctx.ConfigPath) : ServerConfig.Empty;

    private static int Change(AdminContext ctx, Func<ServerConfig, ServerConfig> change)
    {
        ConfigStore.Update<ServerConfig, bool>(ctx.ConfigPath, ServerConfig.Parse, ServerConfig.Empty,
            current => (change(current), true), c => c.ToJson());
        return ctx.ApplySaved();
    }

    private static int Add(ParsedOptions o, AdminContext ctx)
    {
        AdminCommand.Only(o, "Amjqp", "add");
        uint group = AdminValues.Group(AdminCommand.Need(o, 'm'), 'm');
        if (o.Has('j') && o.Has('q')) throw new UsageException("-j and -q cannot be used together");
        List<uint> join = o.Value('j') is { } j ? AdminValues.Members(j, 'j') : [];
        List<uint> quit = o.Value('q') is { } q ? AdminValues.Members(q, 'q') : [];
        ushort? port = o.Value('p') is { } p ? AdminValues.Port(p, 'p') : null;
        if (o.Has('q') && port is not null) throw new UsageException("-p goes with -j (joining), not with -q");
        return Change(ctx, config =>
        {
            var groups = config.Groups.ToList();
            int index = groups.FindIndex(g => g.GroupIp == group);
            if (index < 0)
            {
                if (o.Has('q')) throw new ConfigException($"multicast group {IpAddressV4.Format(group)} does not exist");
                groups.Add(new GroupConfig(group, port ?? 0, port ?? 0, join.ToArray()));
            }
            else
            {
                GroupConfig g = groups[index];
                uint[] members = o.Has('q')
                    ? g.Members.Where(m => !quit.Contains(m)).ToArray()
                    : g.Members.Concat(join.Where(m => !g.Members.Contains(m))).ToArray();
                // Without -p the ports stay as they are (the original reset them to 7126/7127).
                groups[index] = g with { Members = members, ServerPort = port ?? g.ServerPort, GroupPort = port ?? g.GroupPort };
            }
            return config.With(groups);
        });
    }

    private static int Delete(uint group, AdminContext ctx) => Change(ctx, config =>
    {
        if (config.Groups.All(g => g.GroupIp != group))
            throw new ConfigException($"group {IpAddressV4.Format(group)} does not exist");
        return config.With(config.Groups.Where(g => g.GroupIp != group).ToList());
    });

    private static int Clear(AdminContext ctx) => Change(ctx, config => config.With([]));

    private static int Stats(uint? group, AdminContext ctx)
    {
        JsonObject stats = ctx.Stats();
        JsonObject c = stats["counters"]!.AsObject();
        long V(string name) => c[name]?.GetValue<long>() ?? 0;
        if (group is null)
        {
            Console.Out.Write(
                $"tx packets                     :  {V("copies_sent")}\n" +
                $"tx bytes                       :  {V("copy_bytes")}\n" +
                $"no_multi_grp_pkt_count         :  {V("dropped_no_group")}\n" +
                $"no_multi_member_pkt_drop_count :  {V("dropped_no_members")}\n" +
                $"route_fail_drop_count          :  {V("copies_dropped_tx_full")}\n" +
                $"no_mem_drop_count              :  0\n\n");
            // The user-space tool's layout, then everything else the daemon counts.
            Console.Out.Write($"rx packets:{V("captured")}\ntx packages:{V("copies_sent")}\n" +
                              $"dx packets:{V("dropped_no_group") + V("dropped_malformed") + V("dropped_not_udp") + V("dropped_no_members")}\n");
            foreach ((string name, JsonNode? value) in c) Console.Out.WriteLine($"{name,-30} :  {value}");
            if (stats["hop_latency_us"] is JsonObject hop)
            {
                // The proxy's own hop: from the kernel's capture stamp to the transmit call of the copies (engines that have the stamp).
                static string Line(JsonNode h) =>
                    $"p50 {h["p50"]} p90 {h["p90"]} p99 {h["p99"]} p99.9 {h["p999"]} max {h["max"]} µs over {h["count"]} datagrams";
                Console.Out.WriteLine($"{"hop_latency_us",-30} :  {Line(hop)} since start");
                if (hop["since_last_query"] is JsonObject recent)
                    Console.Out.WriteLine($"{"hop_latency_us",-30} :  {Line(recent)} since the last -P");
            }
            return 0;
        }
        string text = IpAddressV4.Format(group.Value);
        JsonObject? g = stats["groups"]!.AsArray().Select(n => n!.AsObject()).FirstOrDefault(n => n["group_ip"]!.GetValue<string>() == text);
        if (g is null)
        {
            Console.Error.WriteLine("error: multicast is not exist!");
            Console.Out.WriteLine();
            return 1;
        }
        Console.Out.Write($"tx packets                     :  {g["copies_sent"]}\n" +
                          $"tx bytes                       :  {g["copy_bytes"]}\n\n");
        Console.Out.WriteLine($"captured packets               :  {g["packets"]}");
        Console.Out.WriteLine($"copies dropped                 :  {g["copies_dropped"]}");
        foreach (JsonNode? m in g["members"]!.AsArray())
            Console.Out.WriteLine($"member {m!["member_ip"],-15} sent {m["copies_sent"]} dropped {m["copies_dropped"]}");
        return 0;
    }

    private static int List(uint group, AdminContext ctx)
    {
        GroupConfig? g = Load(ctx).Groups.FirstOrDefault(x => x.GroupIp == group);
        if (g is null) throw new ConfigException("Multicast group not exsit,please create first!");
        Console.Out.WriteLine($"Multicast IP:  {IpAddressV4.Format(g.GroupIp)}");
        Console.Out.WriteLine($"VM IP List: {g.Members.Length}");
        foreach (uint m in g.Members) Console.Out.WriteLine($"    {IpAddressV4.Format(m)}");
        return 0;
    }

    private static int Show(AdminContext ctx)
    {
        Console.Out.WriteLine("Multicast Group IP: ");
        foreach (GroupConfig g in Load(ctx).Groups) Console.Out.WriteLine(IpAddressV4.Format(g.GroupIp));
        return 0;
    }
}

/// <summary>Command-letter rules shared by both admin tools.</summary>
internal static class AdminCommand
{
    /// <summary>Exactly one command letter (the original silently let the last one win).</summary>
    public static char Single(ParsedOptions o, string commands)
    {
        char[] given = o.Order.Where(commands.Contains).Distinct().ToArray();
        if (given.Length == 0) throw new UsageException($"no command given (one of {string.Join(' ', commands.Select(c => "-" + c))})");
        if (given.Length > 1) throw new UsageException($"options -{given[0]} and -{given[1]} cannot be used together");
        return given[0];
    }

    /// <summary>Refuses options that the command does not take.</summary>
    public static void Only(ParsedOptions o, string allowed, string what)
    {
        char extra = o.Order.FirstOrDefault(c => !allowed.Contains(c));
        if (extra != default) throw new UsageException($"{what} option error: -{extra} does not go with -{allowed[0]}");
    }

    public static string Need(ParsedOptions o, char option) =>
        o.Value(option) ?? throw new UsageException($"option -{option} is required here");
}
