using System.Text.Json.Nodes;
using Multicast.Cli.Daemon;
using Multicast.Core.Config;
using Multicast.Core.Packets;

namespace Multicast.Cli.Admin;

/// <summary>
/// `multic_admin`: runs the client (-R) or configures it. Both dialects of the seed manual: the kernel tool's
/// `-i S -p P` (copies keep the application's port; -p 0 = any port) and the user tool's `-i S -g GROUPPORT -s SERVERPORT`.
/// </summary>
public static class ClientAdmin
{
    public const string UsageText = """
        multic_admin -- This command can be used to configure multicast client.
        Usage:
        multic_admin -A -i {ip} -p {port} -m {multi_ip}
        multic_admin -A -i {ip} -g {groupport} -s {serverport} -m {multi_ip}
        multic_admin -D -i {ip} -p {port}
        multic_admin -D -i {ip} -g {groupport}
        multic_admin -C
        multic_admin -P -i {ip} -p {port}
        multic_admin -L
        multic_admin -H
        multic_admin -R [--interface IF] [--engine ring|socket|pcap] [--idle adaptive|spin|yield|park[:MICROS]] [--nice N|BASE:BOOST] [--cpu LIST] [--rx-buffer SIZE] [--delivery nft|raw]
        Options:
        -A/--add add multicast server ip and port
        -D/--delete del multicast server ip and port
        -C/--clear clear multicast server information
        -P/--stats recv packets statistic
        -L/--list list all multicast server ip and port
        -R/--run run the multicast client
        -H/--help help info
        -i/--ip multicast server ip, the ip of multicast provider
        -p/--port udp port, the multicast port (0 = any port)
        -g/--gport udp port, the multicast port
        -s/--sport server port
        -m/--multi_ip multicast ip
        """;

    private static readonly OptionSpec[] Specs =
    [
        new('A', ["add"], false), new('D', ["delete"], false), new('C', ["clear"], false), new('P', ["stats"], false),
        new('L', ["list"], false), new('H', ["help"], false), new('R', ["run"], false),
        new('i', ["ip"], true), new('p', ["port"], true), new('g', ["gport"], true), new('s', ["sport"], true),
        new('m', ["multiip", "multi_ip"], true),
    ];

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args is ["-help"]) return Help();
        ParsedOptions o = ParsedOptions.Parse(args, Specs, DaemonOptions.IsDaemonOption);
        char command = AdminCommand.Single(o, "ADCPLHR");
        if (command != 'R' && o.DaemonArgs.Count > 0) throw new UsageException($"{o.DaemonArgs[0]} goes with -R only");
        var ctx = new AdminContext("multic");
        switch (command)
        {
            case 'H': return Help();
            case 'R': AdminCommand.Only(o, "R", "run"); return ClientDaemon.Run(DaemonOptions.Parse(o.DaemonArgs));
            case 'A': return Add(o, ctx);
            case 'D': return Delete(o, ctx);
            case 'C': AdminCommand.Only(o, "C", "clear"); return Change(ctx, c => new ClientConfig([]));
            case 'P': return Stats(o, ctx);
            default: AdminCommand.Only(o, "L", "list"); return List(ctx);
        }
    }

    private static int Help()
    {
        Console.Out.WriteLine(UsageText);
        return 0;
    }

    private static int Change(AdminContext ctx, Func<ClientConfig, ClientConfig> change)
    {
        ConfigStore.Update<ClientConfig, bool>(ctx.ConfigPath, ClientConfig.Parse, ClientConfig.Empty,
            current => (change(current), true), c => c.ToJson());
        return ctx.ApplySaved();
    }

    /// <summary>The (wire port, restored group port) an entry is keyed and restored by, from either dialect.</summary>
    private static (ushort ServerPort, ushort GroupPort) Ports(ParsedOptions o)
    {
        if (o.Has('p'))
        {
            if (o.Has('g') || o.Has('s')) throw new UsageException("-p (kernel dialect) does not go with -g/-s (user-tool dialect)");
            return (AdminValues.Port(o.Value('p')!, 'p'), 0);
        }
        if (o.Has('g') && o.Has('s')) return (AdminValues.Port(o.Value('s')!, 's'), AdminValues.Port(o.Value('g')!, 'g'));
        throw new UsageException("give -p PORT, or both -g GROUPPORT and -s SERVERPORT");
    }

    private static int Add(ParsedOptions o, AdminContext ctx)
    {
        AdminCommand.Only(o, "Aimpgs", "add");
        uint server = AdminValues.Address(AdminCommand.Need(o, 'i'), 'i');
        uint group = AdminValues.Group(AdminCommand.Need(o, 'm'), 'm');
        (ushort serverPort, ushort groupPort) = Ports(o);
        return Change(ctx, config =>
        {
            var routes = config.Routes.ToList();
            int index = routes.FindIndex(r => r.ServerIp == server && r.ServerPort == serverPort);
            var entry = new ClientRouteConfig(server, serverPort, group, groupPort);
            if (index >= 0 && routes[index] == entry) throw new ConfigException("Multicast group already exsit!");
            if (index >= 0) routes[index] = entry; // same (server, port), new group: update in place
            else routes.Add(entry);
            return new ClientConfig(routes);
        });
    }

    private static int Delete(ParsedOptions o, AdminContext ctx)
    {
        AdminCommand.Only(o, "Dipgs", "del");
        uint server = AdminValues.Address(AdminCommand.Need(o, 'i'), 'i');
        Func<ClientRouteConfig, bool> match = Selector(o, server);
        return Change(ctx, config =>
        {
            if (!config.Routes.Any(match)) throw new ConfigException("group not exist");
            return new ClientConfig(config.Routes.Where(r => !match(r)).ToList());
        });
    }

    /// <summary>-p/-s select by the port the copies arrive on; -g by the restored group port.</summary>
    private static Func<ClientRouteConfig, bool> Selector(ParsedOptions o, uint server)
    {
        int given = (o.Has('p') ? 1 : 0) + (o.Has('g') ? 1 : 0) + (o.Has('s') ? 1 : 0);
        if (given != 1) throw new UsageException("give exactly one of -p PORT, -g GROUPPORT, -s SERVERPORT");
        if (o.Value('g') is { } g)
        {
            ushort gp = AdminValues.Port(g, 'g');
            return r => r.ServerIp == server && (r.GroupPort != 0 ? r.GroupPort : r.ServerPort) == gp;
        }
        ushort sp = o.Value('p') is { } p ? AdminValues.Port(p, 'p') : AdminValues.Port(o.Value('s')!, 's');
        return r => r.ServerIp == server && r.ServerPort == sp;
    }

    private static int Stats(ParsedOptions o, AdminContext ctx)
    {
        AdminCommand.Only(o, "Pipgs", "stats");
        // Arguments are checked before the daemon is asked, so a wrong command line is reported as such either way.
        if (!o.Has('i') && (o.Has('p') || o.Has('g') || o.Has('s'))) throw new UsageException("a port needs -i SERVER_IP");
        Func<ClientRouteConfig, bool>? match = o.Value('i') is { } ip ? Selector(o, AdminValues.Address(ip, 'i')) : null;
        JsonObject stats = ctx.Stats();
        JsonObject c = stats["counters"]!.AsObject();
        if (match is null)
        {
            // Whole datagrams restored in the kernel (--delivery nft) count as delivered like those restored in user space.
            long Sum(string a, string b) => (long?)c[a] + ((long?)c[b] ?? 0) ?? 0;
            Console.Out.Write($"rx packets  :  {Sum("delivered", "kernel_delivered")}\nrx bytes    :  {Sum("delivered_bytes", "kernel_delivered_bytes")}\n\n");
            foreach ((string name, JsonNode? value) in c) Console.Out.WriteLine($"{name,-26} :  {value}");
            return 0;
        }
        JsonObject? route = stats["routes"]!.AsArray().Select(n => n!.AsObject()).FirstOrDefault(r => match(new ClientRouteConfig(
            IpAddressV4.Parse(r["server_ip"]!.GetValue<string>()), r["server_port"]!.GetValue<ushort>(),
            IpAddressV4.Parse(r["group_ip"]!.GetValue<string>()), r["group_port"]!.GetValue<ushort>())));
        if (route is null)
        {
            Console.Error.WriteLine("error: multicast server not existed!");
            return 1;
        }
        Console.Out.Write($"rx packets  :  {route["packets"]}\nrx bytes    :  {route["bytes"]}\n\n");
        return 0;
    }

    private static int List(AdminContext ctx)
    {
        ClientConfig config = File.Exists(ctx.ConfigPath) ? ClientConfig.Load(ctx.ConfigPath) : ClientConfig.Empty;
        if (config.Routes.Count == 0)
        {
            Console.Out.WriteLine("Not configure multicast server ip and port!");
            return 0;
        }
        int n = 0;
        foreach (ClientRouteConfig r in config.Routes)
        {
            Console.Out.WriteLine($"Configure Multicast Server {++n}:");
            Console.Out.WriteLine($"Server IP:  {IpAddressV4.Format(r.ServerIp)}");
            Console.Out.WriteLine($"UDP Port:  {r.ServerPort}");
            Console.Out.WriteLine($"Multicast  IP:  {IpAddressV4.Format(r.GroupIp)}");
            if (r.GroupPort != 0) Console.Out.WriteLine($"Group Port:  {r.GroupPort}");
            Console.Out.WriteLine();
            Console.Out.WriteLine();
        }
        return 0;
    }
}
