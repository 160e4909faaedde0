/* words.c -- a request hash as words to read aloud, one word per octet. */
#include "ceremony/internal.h"

/* 256 short, common English words, distinct in sound and spelling, chosen for
 * this tool; the index is the octet value. Never reorder: operators compare
 * these words across machines and versions. */
static const char *const WORDS[256] = {
	"acorn",   "adult",    "agent",   "alarm",    "album",    "alley",   "amber",   "angle",
	"ankle",   "apple",    "apron",   "arrow",    "atlas",    "attic",   "award",   "bacon",
	"badge",   "bagel",    "baker",   "bamboo",   "banjo",    "barn",    "basin",   "beach",
	"beard",   "bench",    "berry",   "bicycle",  "bison",    "blanket", "blossom", "boat",
	"bonfire", "border",   "bottle",  "bracket",  "bread",    "brick",   "bridge",  "bronze",
	"brush",   "bucket",   "buffalo", "bugle",    "butter",   "cabin",   "cactus",  "camel",
	"candle",  "canyon",   "carpet",  "carrot",   "castle",   "cedar",   "cellar",  "cement",
	"chalk",   "cherry",   "chess",   "chimney",  "cider",    "circus",  "clover",  "cobalt",
	"coconut", "comet",    "copper",  "coral",    "cotton",   "cowboy",  "crayon",  "cricket",
	"crystal", "cupboard", "curtain", "cushion",  "daisy",    "dancer",  "delta",   "desert",
	"diamond", "dinner",   "doctor",  "dolphin",  "donkey",   "dragon",  "drum",    "eagle",
	"echo",    "eclipse",  "elbow",   "elephant", "ember",    "engine",  "falcon",  "feather",
	"fender",  "ferry",    "fiddle",  "finger",   "flute",    "forest",  "fossil",  "fountain",
	"fox",     "galaxy",   "garden",  "garlic",   "giant",    "ginger",  "glacier", "goblet",
	"gold",    "gopher",   "granite", "grape",    "guitar",   "hammer",  "harbor",  "harvest",
	"hazel",   "helmet",   "hermit",  "hickory",  "honey",    "horizon", "iceberg", "igloo",
	"island",  "ivory",    "jacket",  "jaguar",   "jasmine",  "jelly",   "jigsaw",  "jungle",
	"kayak",   "kettle",   "kidney",  "kitten",   "koala",    "ladder",  "lagoon",  "lantern",
	"laser",   "lemon",    "leopard", "lilac",    "lobster",  "locket",  "lumber",  "magnet",
	"mango",   "marble",   "meadow",  "melon",    "mirror",   "mitten",  "monkey",  "mosaic",
	"muffin",  "napkin",   "nectar",  "needle",   "nickel",   "noodle",  "nutmeg",  "oasis",
	"ocean",   "olive",    "onion",   "orange",   "orchid",   "otter",   "oyster",  "paddle",
	"panda",   "parrot",   "peanut",  "pebble",   "pencil",   "pepper",  "piano",   "pillow",
	"pilot",   "planet",   "pocket",  "potato",   "prism",    "puzzle",  "quartz",  "quiver",
	"rabbit",  "radar",    "raven",   "ribbon",   "river",    "robot",   "rocket",  "saddle",
	"salmon",  "sandal",   "saturn",  "scarf",    "shadow",   "silver",  "sketch",  "spider",
	"sponge",  "squirrel", "statue",  "summit",   "sunset",   "switch",  "tablet",  "tango",
	"teapot",  "temple",   "thunder", "tiger",    "timber",   "tomato",  "topaz",   "tractor",
	"trumpet", "tulip",    "tunnel",  "turtle",   "umbrella", "unicorn", "valley",  "velvet",
	"violin",  "volcano",  "wagon",   "walnut",   "walrus",   "window",  "winter",  "wizard",
	"wombat",  "yacht",    "yellow",  "yogurt",   "zebra",    "zenith",  "zipper",  "zucchini",
	"beacon",  "compass",  "dune",    "fjord",    "geyser",   "mesa",    "prairie", "tundra",
};

const char *cer_word(uint8_t octet)
{
	return WORDS[octet];
}

signet_err cer_words(const uint8_t hash[CER_HASH_LEN], sg_buf *out, char *errmsg, size_t errlen)
{
	if (hash == NULL || out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_words: bad argument");
	signet_err err = SIGNET_OK;
	for (size_t i = 0; i < CER_HASH_LEN && err == SIGNET_OK; i++)
		err = sg_buf_printf(out, "%s%s", i ? " " : "", WORDS[hash[i]]);
	return err;
}
