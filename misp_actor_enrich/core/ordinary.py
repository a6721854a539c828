"""Ransomware names that are ordinary words, places or phrases: in free text they need evidence.

The ransomware galaxy names two thousand families and groups, many of them English words
("Core", "Delta", "Ghost", "Globe"), places ("Cuba", "Everest", "Nevada"), people and
phrases ("Donald Trump", "Money Message"), or digits beside such words ("3AM", "24H",
"Windows 10", "0day"). ``text_scan`` treats them like the ordinary-word actor names of
its own ``_ORDINARY``: one counts only with evidence. Names an actor galaxy also gives are
left out, so no actor's scanning changes.

The lists come from one maintainer pass over the ransomware names of the bundled data and
pymispgalaxies' copy (ransomware v172 and v163): every name of four letters or more whose
words each have a Zipf frequency of 2.5 or more in English (about once in three million
words, as the ``wordfreq`` package counts them), and every name whose digits stand at the
edge of words of three letters or fewer or such words ("Cl0p" and "Crypt0r" are names).
Pure data.
"""

from __future__ import annotations

ORDINARY_WORDS = frozenset("""
    adonis amnesia android annabelle anubis apocalypse apos arcane argus assembly atlas atom audit aura aurora
    aware bart beast beethoven bert blackout blackwater blank blind blitzkrieg blocky boom brazilian brick
    brotherhood cactus chaos cheers christmas clay clearwater cloak clock clouded colossus consciousness conti
    core coronavirus creeper creepy crying crystal cuba curator cyclone cyclops czech deadlock defender delta
    demo desktop devos dharma diamond dishwasher district django dodger domino done donut dusk embargo encrypt
    endurance enigma entropy epsilon eris eruption eternal eternity euclid everest evolution executioner
    exorcist explorer extractor fake fargo faust fidel final first flamingo forma foxy freezing frog frozen fury
    fusion gamma gangbang gazprom genesis ghost gibberish gingerbread global globe goldeneye gopher gorgon
    gotcha grief grinch groove hacked hades havoc haze hellcat hermes hitler hive homeland honor hunt hunters
    hydra icarus insomnia interlock iron jaffe james jigsaw judge kali kamil kappa karo kindest knight knot
    korean kraken lambda landslide lick light lilith lime locked locker lockout locus loki lorenz losers lucy
    lynx mafia magic magician malek mamba mars matrix maze mcafee meister meow midas mimic mini minotaur mischa
    misha monte monument mordor morpheus moth mystic naga namaste nemesis nevada nightmare nitrogen nova nuke
    oceans ogre oled orca ordinal orion osiris outsider pacman pandora paradise payload payment pear pewdiepie
    philadelphia phoenix pickles planetary playboy poison pompous predator prism prometheus protected proton
    providence pump punisher purge python quantum radar radiant ragnarok ramp ramsey rapid rapture razor rector
    relic resurrection revolution reynolds rhino risen rook root rotor royal ruby rush russian sabbath salami
    salsa sanction sanctions sarcoma saturn schoolboys scraper sepsis shade shadow shark shrug silent skull slam
    slug smash smaug snatch solider solo solve sparta spectre sphinx spider spongebob spook sport spring steel
    stinger storm streamer stupid styx sugar superb suri surprise survey synapse telegram termite thanos thor
    titan torchwood tortoise toxic trinity tripoli trojan turkish tycoon tyrant unknown unsafe vaca vendetta
    viagra vulcan waffle waiting waldo warlock werewolves zeppelin zeta zhen ziggy zipper zircon zola zorro
""".split())

ORDINARY_PHRASES = frozenset(s.strip() for s in """
    0 apt, 0 day, 0 mega, 05250 lock, 1337 locker, 16 x, 20 dfs, 2023 lock, 24 h, 3 am, 32 aa, 68 random hex, 7
    z portuguese, 7 zipper ransomware, 777 legion, 8 base, 8 lock 8, abraham s ax, abrahams ax, abyss data, aes
    key gen assist ransomware, aes matrix, aes ni april edition, aes ni ransomware, agenda ransomware, alcatraz
    locker ransomware, alfa ransomware, all your documents ransomware, alma locker, alma ransomware, alp 001,
    alpha ransomware, alphabet ransomware, amnesia 2, angela merkel ransomware, annabelle 2 1, anti ddos,
    apocalypse missing, apt ransomware v 2, aris locker, asn 1 encoder ransomware, astro locker, audit team,
    aurora ransomware, australian aes, b 0 group, bad rabbit, banks 1, barack obama s blackmail virus
    ransomware, barack obama s everlasting blue blackmail virus ransomware, bart ransomware, bass fes, best
    crypt, black claw, black feather, black ruby, black suit, black witch, black worm, black x, boris ht, brain
    cipher, brazilian globe, btc ransomware, cancer ransomware fake, central security treatment organization,
    chip ransomware, cia special agent 767 ransomware, cia special agent 767 ransomware fake, click me
    ransomware, cloak su, cmd organization, code virus ransomware, coin locker, comrade circle ransomware,
    comrade ht, creampie ransomware, cry 0, cry 36, cry 9, crypt 0, crypt 0 ht, crypt 12, crypt 32, crypt 38,
    crypt 888, crypt ransomware, crypto 24, crypto blocker, crypto lab, crypto tyrant, cryptographic locker, cs
    137, csgo ransomware, cyber drill exercise, cyber police ht, cyborg ransomware, czechoslovak ransomware, d 2
    d, dale ransomware, damage ransomware, dangerous ransomware, dark power, deadly for a good purpose
    ransomware, deadly ransomware, death bitches, decrypt protect, decryption assistant, dharma ransomware, dma
    locker 1 0 2 0 3 0, dma locker 4 0, donald trump, donald trump 2 ransomware, donation 1, dont worry, dr
    fucker, dr jimbo, dumb ransomware, eda 2, el dorado, enc 1, encoder xxxx, enigma 2 ransomware, ep 918, eq
    ransomware, erica 2020, esmeralda ransomware, evasive ht, evil ransomware, exotic ransomware, extortion
    scam, facebook ht, fake dma, fake globe ransomware, file locker, file ripper, file spider, fluffy tar, forma
    ransomware, free freedom, gc 47 ransomware, gerber ransomware 1 0, gerber ransomware 3 0, gg ransomware,
    globe 2 ransomware, globe 3 ransomware, globe imposter, globe v 1, god crypt joke ransomware, gog
    ransomware, golden axe, goldeneye ransomware, good day, green blood, gx 40, hades locker, hc 6, hc 7, hermes
    837, hermes ransomware, hi buddy, hidden tear, hpe ilo 4 ransomware, hunters international, iam watching,
    ifn 643 ransomware, insane ransomware, international police association, ishtar ransomware, it books, j
    group, j ransomware, jack pot ransomware, jackpot ransomware, jeff the ransomware, jigsaw original, jo of
    satan, joker korean, jolly roger, kangaroo ransomware, karma ransomware, kelvin security, key group, kraken
    ransomware, kryptonite snake, late lol, leak bazaar, linux encoder, linux encoder 0 3, lk encryption, lock
    2017 ransomware, lock 93 ransomware, locked file, locked in ransomware, locker leak, locker pay, lorenz
    ransomware, losers dangerous, lost files, lucky ransomware, luna ransomware, mad liberator, mafia
    ransomware, malek team, malta ransomware, marlboro ransomware, matrix ransomware, maui ransomware, mc
    ransomware, mercury ransomware, merry christmas, merry x mas, mew 767, mm locker, mnt 6, money message,
    mongo lock, mount locker, mr dec, mr locker, ms 13 089, mvp ransomware, my little ransomware, n splitter,
    nasir security, nemesis ransomware, netflix ransomware, nm 3, nm 4, obsidian orb, offline ransomware, omg
    ransomware, operation global iii, ox thief, paradise 2, paradise ransomware, pay or grief, pay or lost,
    payday ransomware, pec 2017, pico ransomware, play ransomware, popcorn time ransomware, potato ransomware,
    powershell locker 2013, powershell locker 2015, princess evolution, princess locker, project 23, project 34
    ransomware, project 57, pubg ransomware, purge ransomware, qwerty ransomware, r 980, ra group, raa sep,
    rabbit hole, radiant group, ragnar locker, random 30, ransom 102, ransom 32, ransom corp, ransom prank,
    ransom x, ransomware blog, ransomware god crypt, rapid 2 0, rapid 3 0, rapid gillette, red alert, red
    ransomware, revenge ransomware, rip lmao, rip phoenix ransomware, robbing hood, rogue ht, roi locker, rsa
    ni, run some wares, russian eda 2, russian globe ransomware, sage 2 0 ransomware, sage 2 2, sage ransomware,
    sanctions 2017, sarcoma ransomware, sarcoma ransomware group, satan 666 ransomware, satan ransomware, send
    id to, serpent 2017 ransomware, serpent danish ransomware, serpent ransomware, sfx monster ransomware,
    shutdown 57, sigma ransomware, simple encoder, skull ht, snake ransomware, sorry ht, space bears, spartacus
    ransomware, spy corporate, sq ransomware, stop ransomware, such crypt, such security, syn ack, sz 40, tar
    ransomware, team underground, thanksgiving ransomware, the brotherhood, the green blood group, the magic,
    threat finder, thunder x, tps 1 0, trick or treat, triple x, trojan dz, trojan encoder 6491, trojan syria,
    tron ransomware, turkish ransom, u bomb, uh oh, ultimo ht, unknown lock, unlock 26 ransomware, unlock 92,
    unnamed 1989, unnamed android ransomware, unnamed bin, usr 0, v is vendetta, valencia leaks, vanguard
    ransomware, vapor ransomware, virus encoder, vn os, vo ransomware, voldemort ransomware, vortex ransomware,
    want money, wechat ransom, white lock, wiki ransomware, wildfire locker, windows 10, wiper leak, x files, x
    locker 5 0, xd locker, xp 95, you have been hacked, z 3, zero fucks, zero tolerance, zero tolerance gang,
    zeta leaks, zorro ransomware
""".split(","))

# Never names in prose, whatever follows them: nationality adjectives stand before actor words ("a North
# Korean threat group", "a Russian ransomware gang"); companies and products are written about for
# themselves ("McAfee ransomware research"); a vendor's naming word ends actor names ("Grim Spider").
NOT_NAMES = frozenset({"brazilian", "czech", "korean", "russian", "turkish",
                       "autoit", "cylance", "gazprom", "mcafee", "zimbra", "spider"})
