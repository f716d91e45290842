"""Fixed tables the demo shop is generated from: names, places, products, carriers, remarks.

Everything here is our own word lists; weights are rough shares (population in millions, popularity), not
exact statistics. No text may contain a tab, a newline or a backslash (the PostgreSQL COPY writer relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass

TAOBAO_SHOP = "山岚茶食旗舰店"
SHOPIFY_SHOP = "Shanlan Tea & Snacks"
SHOPIFY_TIMEZONE = "America/Los_Angeles"
SHOPIFY_CURRENCY = "USD"

# --- people -------------------------------------------------------------------------------------------------

#: (surname, pinyin, weight); weights follow the rough frequency of the common surnames.
SURNAMES: list[tuple[str, str, float]] = [
    (s, p, float(w))
    for s, p, w in (
        ("王", "wang", 71),
        ("李", "li", 70),
        ("张", "zhang", 64),
        ("刘", "liu", 54),
        ("陈", "chen", 46),
        ("杨", "yang", 33),
        ("黄", "huang", 25),
        ("赵", "zhao", 20),
        ("吴", "wu", 20),
        ("周", "zhou", 19),
        ("徐", "xu", 15),
        ("孙", "sun", 15),
        ("马", "ma", 15),
        ("朱", "zhu", 14),
        ("胡", "hu", 13),
        ("郭", "guo", 12),
        ("何", "he", 12),
        ("林", "lin", 11),
        ("高", "gao", 11),
        ("罗", "luo", 10),
        ("郑", "zheng", 10),
        ("梁", "liang", 9),
        ("谢", "xie", 8),
        ("宋", "song", 7),
        ("唐", "tang", 7),
        ("许", "xu", 7),
        ("韩", "han", 7),
        ("冯", "feng", 6),
        ("邓", "deng", 6),
        ("曹", "cao", 6),
        ("彭", "peng", 6),
        ("曾", "zeng", 6),
        ("肖", "xiao", 6),
        ("田", "tian", 5),
        ("董", "dong", 5),
        ("袁", "yuan", 5),
        ("潘", "pan", 5),
        ("于", "yu", 5),
        ("蒋", "jiang", 5),
        ("蔡", "cai", 5),
        ("余", "yu", 5),
        ("杜", "du", 5),
        ("叶", "ye", 5),
        ("程", "cheng", 5),
        ("苏", "su", 4),
        ("魏", "wei", 4),
        ("吕", "lv", 4),
        ("丁", "ding", 4),
        ("任", "ren", 4),
        ("沈", "shen", 4),
        ("姚", "yao", 4),
        ("卢", "lu", 4),
        ("姜", "jiang", 4),
        ("崔", "cui", 4),
        ("钟", "zhong", 4),
        ("谭", "tan", 3),
        ("陆", "lu", 3),
        ("汪", "wang", 3),
        ("范", "fan", 3),
        ("金", "jin", 3),
        ("石", "shi", 3),
        ("廖", "liao", 3),
        ("贾", "jia", 3),
        ("夏", "xia", 3),
        ("韦", "wei", 3),
        ("方", "fang", 3),
        ("白", "bai", 3),
        ("邹", "zou", 2),
        ("孟", "meng", 2),
        ("熊", "xiong", 2),
        ("秦", "qin", 2),
        ("邱", "qiu", 2),
        ("江", "jiang", 2),
        ("尹", "yin", 2),
        ("薛", "xue", 2),
        ("段", "duan", 2),
        ("雷", "lei", 2),
        ("侯", "hou", 2),
        ("龙", "long", 2),
        ("史", "shi", 2),
        ("陶", "tao", 2),
        ("黎", "li", 2),
        ("贺", "he", 2),
        ("顾", "gu", 2),
        ("毛", "mao", 2),
        ("郝", "hao", 2),
        ("龚", "gong", 2),
        ("邵", "shao", 2),
        ("万", "wan", 2),
        ("严", "yan", 2),
        ("覃", "qin", 1),
        ("武", "wu", 1),
        ("戴", "dai", 1),
        ("莫", "mo", 1),
        ("孔", "kong", 1),
        ("向", "xiang", 1),
        ("汤", "tang", 1),
        ("欧阳", "ouyang", 0.5),
        ("司马", "sima", 0.1),
        ("诸葛", "zhuge", 0.1),
        ("上官", "shangguan", 0.1),
    )
]

#: Characters used in given names, with their pinyin.
GIVEN_FEMALE: list[tuple[str, str]] = [
    ("秀", "xiu"), ("英", "ying"), ("丽", "li"), ("敏", "min"), ("静", "jing"), ("燕", "yan"), ("娟", "juan"),
    ("霞", "xia"), ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("欣", "xin"), ("怡", "yi"), ("佳", "jia"),
    ("颖", "ying"), ("倩", "qian"), ("芳", "fang"), ("玲", "ling"), ("慧", "hui"), ("洁", "jie"), ("梅", "mei"),
    ("兰", "lan"), ("萍", "ping"), ("红", "hong"), ("艳", "yan"), ("丹", "dan"), ("晶", "jing"), ("悦", "yue"),
    ("蕾", "lei"), ("瑶", "yao"), ("璐", "lu"), ("楠", "nan"), ("雅", "ya"), ("琪", "qi"), ("涵", "han"),
    ("萱", "xuan"), ("诗", "shi"), ("梦", "meng"), ("思", "si"), ("嘉", "jia"), ("月", "yue"), ("晓", "xiao"),
    ("露", "lu"), ("薇", "wei"), ("茜", "xi"), ("妍", "yan"), ("彤", "tong"), ("雯", "wen"), ("可", "ke"),
    ("心", "xin"), ("语", "yu"), ("桐", "tong"), ("子", "zi"), ("若", "ruo"), ("晴", "qing"), ("珊", "shan"),
]  # fmt: skip
GIVEN_MALE: list[tuple[str, str]] = [
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"), ("杰", "jie"), ("涛", "tao"),
    ("明", "ming"), ("超", "chao"), ("辉", "hui"), ("刚", "gang"), ("平", "ping"), ("鹏", "peng"), ("飞", "fei"),
    ("浩", "hao"), ("宇", "yu"), ("轩", "xuan"), ("博", "bo"), ("文", "wen"), ("斌", "bin"), ("俊", "jun"),
    ("峰", "feng"), ("鑫", "xin"), ("健", "jian"), ("凯", "kai"), ("志", "zhi"), ("建", "jian"), ("国", "guo"),
    ("华", "hua"), ("林", "lin"), ("波", "bo"), ("龙", "long"), ("翔", "xiang"), ("阳", "yang"), ("东", "dong"),
    ("亮", "liang"), ("成", "cheng"), ("宏", "hong"), ("晨", "chen"), ("子", "zi"), ("一", "yi"), ("泽", "ze"),
    ("睿", "rui"), ("然", "ran"), ("航", "hang"), ("天", "tian"), ("毅", "yi"), ("远", "yuan"), ("嘉", "jia"),
]  # fmt: skip

#: Building blocks of Taobao nicknames such as 小鱼爱喝茶.
NICK_HEADS = [
    "小鱼", "阿花", "糖糖", "大白", "喵喵", "月亮", "星星", "小熊", "橙子", "柚子", "桃子", "木木", "西瓜", "可乐",
    "奶茶", "豆豆", "小满", "阿狸", "兔子", "南风", "青柠", "团子", "果果", "安安", "小米", "番茄", "布丁", "云朵",
    "阿伟", "老张", "胖虎", "小七", "十一", "栗子", "芒果", "小雨", "花生", "饺子", "丸子", "饼干",
]  # fmt: skip
NICK_LINKS = ["爱", "爱", "爱", "喜欢", "想", "的", "不爱", "超爱", "要"]
NICK_TAILS = [
    "喝茶", "吃坚果", "零食", "睡觉", "旅行", "下雨天", "小猫", "咖啡", "绿茶", "周末", "夏天", "冬天", "红茶", "普洱",
    "花茶", "吃饼干", "晒太阳", "发呆", "读书", "跑步", "唱歌", "追剧", "烘焙", "茶叶蛋", "小确幸", "芒果干",
    "午后", "海边", "猫咪", "早睡",
]  # fmt: skip
NICK_WORDS = [
    "快乐的猫咪", "阳光女孩", "一只小可爱", "茶香满屋", "清风徐来", "岁月静好", "爱吃的胖子", "吃货本货", "慢生活",
    "半杯清茶", "不吃香菜", "人间烟火", "温柔的风", "小确幸", "追光的人", "知足常乐", "莫负时光", "简单就好",
]  # fmt: skip

EMAIL_DOMAINS_CN = [("qq.com", 45), ("163.com", 25), ("126.com", 10), ("sina.com", 6), ("foxmail.com", 8),
                    ("hotmail.com", 3), ("gmail.com", 3)]  # fmt: skip

#: Mobile number prefixes of the three carriers (with rough shares).
PHONE_PREFIXES = [
    ("138", 6), ("139", 6), ("136", 5), ("137", 5), ("135", 5), ("134", 3), ("150", 4), ("151", 4), ("152", 3),
    ("157", 3), ("158", 4), ("159", 4), ("182", 3), ("183", 3), ("187", 3), ("188", 3), ("130", 4), ("131", 4),
    ("132", 3), ("155", 3), ("156", 3), ("185", 3), ("186", 4), ("176", 2), ("166", 2), ("133", 3), ("153", 2),
    ("177", 2), ("180", 2), ("181", 2), ("189", 3), ("199", 2), ("191", 1), ("198", 1), ("147", 1), ("175", 1),
]  # fmt: skip

# English-speaking customers of the Shopify store.
EN_FIRST_FEMALE = [
    "Emily",
    "Olivia",
    "Sophia",
    "Emma",
    "Ava",
    "Mia",
    "Grace",
    "Chloe",
    "Hannah",
    "Sarah",
    "Jessica",
    "Laura",
    "Anna",
    "Lucy",
    "Amy",
    "Michelle",
    "Rachel",
    "Vivian",
    "Cindy",
    "Helen",
    "Jenny",
    "Karen",
]
EN_FIRST_MALE = [
    "James",
    "Michael",
    "David",
    "Daniel",
    "Ryan",
    "Kevin",
    "Jason",
    "Eric",
    "Brian",
    "Andrew",
    "Tom",
    "Chris",
    "Mark",
    "Paul",
    "Peter",
    "Steven",
    "Alex",
    "Henry",
    "Leo",
    "Sam",
    "Jack",
    "William",
]
EN_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Garcia",
    "Wilson",
    "Taylor",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Lopez",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Chen",
    "Wang",
    "Lee",
    "Li",
    "Zhang",
    "Liu",
    "Wong",
    "Lin",
    "Huang",
    "Nguyen",
    "Kim",
    "Patel",
    "Tan",
]
EN_EMAIL_DOMAINS = [("gmail.com", 55), ("yahoo.com", 12), ("outlook.com", 12), ("hotmail.com", 8), ("icloud.com", 10),
                    ("aol.com", 3)]  # fmt: skip
#: (region/state, [(city, weight)], country code for the phone); the Shopify store ships mostly to North America.
EN_PLACES: list[tuple[str, list[tuple[str, float]], str]] = [
    ("California", [("Los Angeles", 4), ("San Francisco", 3), ("San Jose", 2), ("San Diego", 2), ("Irvine", 1)], "1"),
    ("New York", [("New York", 6), ("Brooklyn", 2), ("Flushing", 1)], "1"),
    ("Washington", [("Seattle", 3), ("Bellevue", 1)], "1"),
    ("Texas", [("Houston", 2), ("Austin", 2), ("Dallas", 2)], "1"),
    ("Massachusetts", [("Boston", 2), ("Cambridge", 1)], "1"),
    ("Illinois", [("Chicago", 3)], "1"),
    ("New Jersey", [("Jersey City", 1), ("Edison", 1)], "1"),
    ("Ontario", [("Toronto", 3), ("Markham", 1)], "1"),
    ("British Columbia", [("Vancouver", 3), ("Richmond", 1)], "1"),
    ("England", [("London", 3), ("Manchester", 1)], "44"),
    ("New South Wales", [("Sydney", 2)], "61"),
    ("Victoria", [("Melbourne", 2)], "61"),
    ("Singapore", [("Singapore", 2)], "65"),
]
EN_PLACE_WEIGHTS = [16, 9, 5, 6, 3, 3, 2, 4, 4, 4, 2, 2, 2]
EN_STREETS = ["Oak St", "Maple Ave", "Pine St", "Cedar Rd", "Elm St", "Park Ave", "Main St", "Lake Dr", "Hill Rd",
              "Sunset Blvd", "Washington St", "Broadway", "Market St", "Church St", "High St", "Queen St"]  # fmt: skip

# --- places -------------------------------------------------------------------------------------------------

#: province | weight (population in millions, nudged by online-shopping habits) | city:weight:districts;…
_REGIONS = """
广东省|150|广州市:19:天河区,越秀区,海珠区,番禺区,白云区;深圳市:18:南山区,福田区,宝安区,龙岗区,罗湖区;东莞市:10:南城街道,东城街道,长安镇,虎门镇;佛山市:9:禅城区,南海区,顺德区;惠州市:6:惠城区,惠阳区;汕头市:5:金平区,龙湖区;湛江市:4:赤坎区,霞山区;江门市:4:蓬江区,新会区;珠海市:2:香洲区,金湾区
山东省|95|济南市:9:历下区,市中区,历城区,槐荫区;青岛市:10:市南区,市北区,崂山区,黄岛区;烟台市:7:芝罘区,莱山区;潍坊市:9:奎文区,潍城区;临沂市:11:兰山区,罗庄区;济宁市:8:任城区;淄博市:5:张店区,淄川区
河南省|85|郑州市:13:金水区,二七区,中原区,管城回族区;洛阳市:7:西工区,洛龙区;南阳市:9:卧龙区,宛城区;新乡市:6:红旗区,卫滨区;商丘市:8:梁园区,睢阳区;开封市:5:龙亭区,鼓楼区
江苏省|105|南京市:9:玄武区,鼓楼区,建邺区,秦淮区,江宁区;苏州市:13:姑苏区,工业园区,吴中区,相城区;无锡市:7:梁溪区,滨湖区,新吴区;常州市:5:天宁区,钟楼区,武进区;南通市:8:崇川区,通州区;徐州市:9:鼓楼区,云龙区,泉山区;扬州市:5:广陵区,邗江区
四川省|75|成都市:21:锦江区,青羊区,武侯区,成华区,金牛区,高新区;绵阳市:5:涪城区,游仙区;南充市:6:顺庆区,高坪区;宜宾市:5:翠屏区,叙州区;德阳市:3:旌阳区;乐山市:3:市中区
河北省|65|石家庄市:11:长安区,桥西区,新华区,裕华区;保定市:9:竞秀区,莲池区;唐山市:8:路北区,路南区;邯郸市:9:丛台区,邯山区;廊坊市:5:广阳区,安次区;沧州市:7:运河区,新华区
湖南省|60|长沙市:10:岳麓区,芙蓉区,天心区,开福区,雨花区;株洲市:4:天元区,芦淞区;衡阳市:7:蒸湘区,雁峰区;岳阳市:5:岳阳楼区;常德市:5:武陵区;湘潭市:3:雨湖区,岳塘区
浙江省|95|杭州市:12:西湖区,上城区,拱墅区,滨江区,余杭区,萧山区;宁波市:9:海曙区,鄞州区,江北区,北仑区;温州市:10:鹿城区,瓯海区,龙湾区;金华市:7:婺城区,义乌市;绍兴市:5:越城区,柯桥区;嘉兴市:5:南湖区,秀洲区;台州市:7:椒江区,路桥区;湖州市:3:吴兴区
安徽省|55|合肥市:9:蜀山区,包河区,庐阳区,瑶海区;芜湖市:4:镜湖区,弋江区;阜阳市:8:颍州区,颍泉区;安庆市:4:迎江区,大观区;蚌埠市:3:蚌山区,龙子湖区
湖北省|55|武汉市:12:武昌区,洪山区,江汉区,江岸区,汉阳区;宜昌市:4:西陵区,伍家岗区;襄阳市:5:襄城区,樊城区;荆州市:5:沙市区,荆州区;黄冈市:6:黄州区
广西壮族自治区|42|南宁市:9:青秀区,兴宁区,西乡塘区;柳州市:4:城中区,鱼峰区;桂林市:5:秀峰区,七星区;玉林市:6:玉州区
云南省|38|昆明市:8:五华区,盘龙区,官渡区,西山区;曲靖市:6:麒麟区;大理白族自治州:3:大理市;红河哈尼族彝族自治州:4:蒙自市,个旧市
江西省|40|南昌市:6:东湖区,西湖区,红谷滩区;赣州市:9:章贡区,南康区;九江市:5:浔阳区,濂溪区;上饶市:6:信州区
辽宁省|40|沈阳市:9:和平区,沈河区,皇姑区,铁西区;大连市:7:中山区,沙河口区,甘井子区;鞍山市:3:铁东区,铁西区;锦州市:3:古塔区
福建省|45|福州市:8:鼓楼区,台江区,仓山区;厦门市:5:思明区,湖里区,集美区;泉州市:9:丰泽区,鲤城区,晋江市;漳州市:5:芗城区,龙文区;莆田市:3:城厢区,荔城区
陕西省|35|西安市:13:雁塔区,碑林区,未央区,长安区,莲湖区;宝鸡市:3:渭滨区,金台区;咸阳市:4:秦都区,渭城区;渭南市:5:临渭区
贵州省|30|贵阳市:6:南明区,云岩区,观山湖区;遵义市:7:红花岗区,汇川区;毕节市:7:七星关区
山西省|30|太原市:5:小店区,迎泽区,杏花岭区;大同市:3:平城区;运城市:5:盐湖区;长治市:3:潞州区
重庆市|30|重庆市:32:渝中区,江北区,南岸区,九龙坡区,沙坪坝区,渝北区,万州区
黑龙江省|26|哈尔滨市:10:南岗区,道里区,香坊区,道外区;大庆市:3:萨尔图区,让胡路区;齐齐哈尔市:4:龙沙区,建华区
新疆维吾尔自治区|15|乌鲁木齐市:4:天山区,沙依巴克区,新市区;昌吉回族自治州:2:昌吉市;伊犁哈萨克自治州:3:伊宁市
上海市|40|上海市:25:浦东新区,徐汇区,静安区,黄浦区,长宁区,普陀区,杨浦区,闵行区,宝山区,松江区
甘肃省|18|兰州市:4:城关区,七里河区,安宁区;天水市:3:秦州区;酒泉市:1:肃州区
内蒙古自治区|18|呼和浩特市:3:新城区,赛罕区,回民区;包头市:3:昆都仑区,青山区;赤峰市:4:红山区;鄂尔多斯市:2:东胜区
吉林省|20|长春市:9:朝阳区,南关区,宽城区,绿园区;吉林市:4:船营区,昌邑区;延边朝鲜族自治州:2:延吉市
北京市|35|北京市:22:朝阳区,海淀区,东城区,西城区,丰台区,通州区,昌平区,大兴区
天津市|14|天津市:14:和平区,河西区,南开区,河东区,滨海新区,西青区
海南省|9|海口市:3:龙华区,美兰区,秀英区;三亚市:1:吉阳区,天涯区
宁夏回族自治区|5|银川市:3:兴庆区,金凤区,西夏区;石嘴山市:1:大武口区
青海省|4|西宁市:2:城中区,城西区,城东区;海东市:1:乐都区
西藏自治区|2|拉萨市:1:城关区,堆龙德庆区
"""


@dataclass(frozen=True)
class Region:
    province: str
    weight: float
    cities: tuple[tuple[str, float, tuple[str, ...]], ...]


def _regions() -> list[Region]:
    out = []
    for line in _REGIONS.strip().splitlines():
        province, weight, cities = line.split("|")
        parsed = []
        for chunk in cities.split(";"):
            city, city_weight, districts = chunk.split(":")
            parsed.append((city, float(city_weight), tuple(districts.split(","))))
        out.append(Region(province, float(weight), tuple(parsed)))
    return out


REGIONS = _regions()
#: Far-away provinces where the shop charges shipping (偏远地区不包邮).
REMOTE_PROVINCES = {"新疆维吾尔自治区", "西藏自治区", "青海省", "宁夏回族自治区", "甘肃省", "内蒙古自治区", "海南省"}

ROADS = [
    "人民",
    "解放",
    "建设",
    "中山",
    "和平",
    "文化",
    "新华",
    "胜利",
    "长江",
    "黄河",
    "青年",
    "朝阳",
    "光明",
    "幸福",
    "学府",
    "滨江",
    "东风",
    "友谊",
    "花园",
    "公园",
    "南京",
    "北京",
    "迎宾",
    "振兴",
    "团结",
    "湖滨",
    "锦绣",
    "金桥",
]
ROAD_KINDS = ["路", "路", "路", "大道", "街", "东路", "西路", "南路", "北路"]
ESTATE_HEADS = ["阳光", "金色", "翠苑", "碧桂", "万科", "绿地", "世纪", "锦江", "御景", "东方", "和谐", "龙湖", "保利",
                "华府", "海棠", "紫荆", "书香", "枫林", "滨湖", "新城"]  # fmt: skip
ESTATE_TAILS = ["花园", "家园", "小区", "公寓", "名苑", "城", "雅居", "新村", "华庭", "府"]

# --- catalogue ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    name: str
    cycle_days: int  # typical days until a regular drinker/eater buys again
    weight: float  # share of lines outside the gift seasons
    gift: bool = False


CATEGORIES = {
    c.name: c
    for c in (
        Category("绿茶", 45, 16),
        Category("红茶", 50, 10),
        Category("乌龙茶", 45, 8),
        Category("普洱", 90, 6),
        Category("白茶", 70, 5),
        Category("花茶", 60, 9),
        Category("坚果", 30, 16),
        Category("果干", 35, 8),
        Category("饼干糕点", 20, 12),
        Category("肉脯卤味", 25, 6),
        Category("礼盒", 365, 1.5, gift=True),
        Category("茶具", 720, 1),
    )
}
#: Categories a regular customer can be "into" (drives their repurchase cycle).
FAVOURITE_CATEGORIES = ["绿茶", "红茶", "乌龙茶", "普洱", "白茶", "花茶", "坚果", "果干", "饼干糕点", "肉脯卤味"]
FAVOURITE_WEIGHTS = [18, 11, 8, 5, 4, 9, 17, 7, 14, 7]


@dataclass(frozen=True)
class ProductSpec:
    code: str
    title: str
    category: str
    price_cents: int
    sku: str
    weight: float = 1.0  # popularity inside its category


TAOBAO_PRODUCTS: list[ProductSpec] = [
    ProductSpec("LJ-MQ-250", "明前西湖龙井 特级 250g 罐装", "绿茶", 26800, "净含量:250g;包装:铁罐", 1.2),
    ProductSpec("LJ-YQ-250", "雨前龙井 一级 250g 纸包 口粮茶", "绿茶", 12800, "净含量:250g;包装:纸包", 2.0),
    ProductSpec("BLC-125", "洞庭碧螺春 明前 125g", "绿茶", 15800, "净含量:125g", 1.0),
    ProductSpec("HSMF-200", "黄山毛峰 一级 200g", "绿茶", 9800, "净含量:200g", 1.0),
    ProductSpec("XYMJ-250", "信阳毛尖 250g 袋装", "绿茶", 11800, "净含量:250g", 0.8),
    ProductSpec("LAGP-200", "六安瓜片 200g 礼罐", "绿茶", 18800, "净含量:200g;包装:礼罐", 0.6),
    ProductSpec("AJBC-100", "安吉白茶 100g 罐装", "绿茶", 16800, "净含量:100g", 0.9),
    ProductSpec("ZSXZ-250", "武夷正山小种 250g", "红茶", 13800, "净含量:250g", 1.4),
    ProductSpec("JJM-100", "金骏眉 特级 100g 礼罐", "红茶", 29800, "净含量:100g;包装:礼罐", 0.7),
    ProductSpec("QMHC-200", "祁门红茶 200g", "红茶", 10800, "净含量:200g", 1.0),
    ProductSpec("DHJY-250", "云南滇红金芽 250g", "红茶", 8800, "净含量:250g", 1.2),
    ProductSpec("TGY-250", "安溪铁观音 清香型 250g", "乌龙茶", 11800, "净含量:250g;香型:清香", 1.4),
    ProductSpec("DHP-200", "武夷岩茶 大红袍 200g", "乌龙茶", 16800, "净含量:200g", 1.0),
    ProductSpec("FHDC-250", "凤凰单丛 鸭屎香 250g", "乌龙茶", 13800, "净含量:250g", 0.9),
    ProductSpec("DDWL-150", "台湾冻顶乌龙 150g", "乌龙茶", 15800, "净含量:150g", 0.6),
    ProductSpec("PES-357", "云南普洱熟茶 357g 饼", "普洱", 12800, "规格:357g饼;类型:熟茶", 1.3),
    ProductSpec("PEC-357", "勐海普洱生茶 357g 饼", "普洱", 16800, "规格:357g饼;类型:生茶", 0.8),
    ProductSpec("XQG-250", "新会小青柑普洱 250g", "普洱", 8900, "净含量:250g", 1.5),
    ProductSpec("BMD-300", "福鼎白牡丹 300g 饼", "白茶", 15800, "规格:300g饼", 1.0),
    ProductSpec("SM-350", "福鼎老寿眉 350g 饼", "白茶", 9800, "规格:350g饼", 1.2),
    ProductSpec("BHYZ-100", "白毫银针 100g 罐装", "白茶", 26800, "净含量:100g", 0.5),
    ProductSpec("MLHC-250", "福州茉莉花茶 250g", "花茶", 5800, "净含量:250g", 1.3),
    ProductSpec("GHWL-30", "桂花乌龙 三角茶包 30包", "花茶", 3990, "规格:30包", 1.5),
    ProductSpec("MGHC-100", "平阴玫瑰花茶 100g", "花茶", 3500, "净含量:100g", 1.0),
    ProductSpec("TJ-100", "桐乡胎菊 100g", "花茶", 2990, "净含量:100g", 1.0),
    ProductSpec("MTWL-20", "蜜桃乌龙 冷泡茶 20包", "花茶", 3990, "规格:20包", 1.3),
    ProductSpec("MRJG-30", "每日坚果 混合果仁 30袋", "坚果", 10900, "规格:30袋", 2.0),
    ProductSpec("XWYG-500", "夏威夷果 奶油味 500g", "坚果", 5990, "净含量:500g", 1.3),
    ProductSpec("BGG-500", "碧根果 500g", "坚果", 4990, "净含量:500g", 1.1),
    ProductSpec("BDM-500", "巴旦木 500g", "坚果", 4590, "净含量:500g", 1.0),
    ProductSpec("KXG-500", "开心果 原色 500g", "坚果", 6990, "净含量:500g", 1.0),
    ProductSpec("SHT-250", "临安手剥山核桃 250g", "坚果", 5900, "净含量:250g", 0.8),
    ProductSpec("MGG-500", "芒果干 500g", "果干", 3990, "净含量:500g", 1.5),
    ProductSpec("CMG-250", "草莓干 250g", "果干", 2990, "净含量:250g", 0.9),
    ProductSpec("YYM-500", "蔓越莓干 500g", "果干", 2590, "净含量:500g", 0.8),
    ProductSpec("PTG-500", "新疆无核葡萄干 500g", "果干", 3500, "净含量:500g", 1.0),
    ProductSpec("HYQQ-400", "丹麦风味黄油曲奇 400g 罐装", "饼干糕点", 3990, "净含量:400g", 1.3),
    ProductSpec("SDBG-1K", "全麦苏打饼干 1kg 整箱", "饼干糕点", 1990, "规格:1kg", 1.4),
    ProductSpec("LDG-12", "绿豆糕 12枚 盒装", "饼干糕点", 2490, "规格:12枚", 1.0),
    ProductSpec("FLS-10", "台式凤梨酥 10枚", "饼干糕点", 3900, "规格:10枚", 1.0),
    ProductSpec("DHS-6", "雪媚娘蛋黄酥 6枚", "饼干糕点", 3290, "规格:6枚", 1.1),
    ProductSpec("TS-500", "宫廷桃酥 500g", "饼干糕点", 2290, "净含量:500g", 0.9),
    ProductSpec("ZRF-200", "靖江猪肉脯 200g", "肉脯卤味", 3590, "净含量:200g", 1.3),
    ProductSpec("NRG-250", "内蒙风干牛肉干 250g", "肉脯卤味", 4990, "净含量:250g", 1.0),
    ProductSpec("YB-300", "卤味鸭脖 300g 微辣", "肉脯卤味", 2990, "净含量:300g;口味:微辣", 1.0),
    ProductSpec("GB-XC", "新春茶礼盒 龙井+红茶 双罐", "礼盒", 39800, "规格:双罐礼盒", 1.0),
    ProductSpec("GB-JG", "坚果大礼包 2kg 年货", "礼盒", 19800, "规格:2kg", 1.3),
    ProductSpec("GB-ZQ", "中秋茶点礼盒 茶+糕点", "礼盒", 26800, "规格:礼盒", 1.0),
    ProductSpec("GB-LS", "零食大礼包 30袋", "礼盒", 15800, "规格:30袋", 1.0),
    ProductSpec("CJ-LX", "便携旅行茶具套装 一壶四杯", "茶具", 12900, "规格:一壶四杯", 1.0),
    ProductSpec("CJ-GDB", "耐热玻璃公道杯 350ml", "茶具", 3900, "容量:350ml", 1.2),
    ProductSpec("CJ-ZSH", "宜兴紫砂壶 朱泥 220ml", "茶具", 26800, "容量:220ml", 0.5),
]

SHOPIFY_PRODUCTS: list[ProductSpec] = [
    ProductSpec("SL-LONGJING", "Dragon Well (Longjing) Green Tea 100g", "绿茶", 2400, "100g tin", 1.4),
    ProductSpec("SL-BILUO", "Biluochun Green Tea 100g", "绿茶", 2200, "100g", 0.8),
    ProductSpec("SL-KEEMUN", "Keemun Black Tea 100g", "红茶", 1800, "100g", 1.0),
    ProductSpec("SL-LAPSANG", "Lapsang Souchong 100g", "红茶", 1900, "100g", 1.0),
    ProductSpec("SL-TGY", "Tieguanyin Oolong 100g", "乌龙茶", 2000, "100g", 1.2),
    ProductSpec("SL-DHP", "Da Hong Pao Rock Oolong 100g", "乌龙茶", 2800, "100g", 0.8),
    ProductSpec("SL-PUER", "Ripe Pu-erh Cake 357g", "普洱", 3500, "357g cake", 0.9),
    ProductSpec("SL-JASMINE", "Jasmine Pearls 100g", "花茶", 1800, "100g", 1.5),
    ProductSpec("SL-PEACH", "Peach Oolong Cold Brew, 20 bags", "花茶", 1200, "20 bags", 1.2),
    ProductSpec("SL-NUTS", "Daily Mixed Nuts, 30 packs", "坚果", 2600, "30 packs", 1.3),
    ProductSpec("SL-MANGO", "Dried Mango 500g", "果干", 1400, "500g", 1.2),
    ProductSpec("SL-PINEAPPLE", "Pineapple Cakes, box of 10", "饼干糕点", 1600, "box of 10", 1.2),
    ProductSpec("SL-GIFT", "Lunar New Year Tea Gift Set", "礼盒", 6800, "gift box", 1.0),
    ProductSpec("SL-GAIWAN", "Porcelain Gaiwan Set", "茶具", 3900, "1 gaiwan + 4 cups", 1.0),
]

# --- logistics, remarks, tags, notes ------------------------------------------------------------------------

#: (carrier, weight, tracking prefix, digits after the prefix)
CARRIERS_CN = [
    ("中通快递", 30, "7", 14),
    ("圆通速递", 22, "YT", 13),
    ("韵达快递", 18, "43", 13),
    ("申通快递", 9, "77", 13),
    ("顺丰速运", 10, "SF", 13),
    ("极兔速递", 7, "JT", 13),
    ("京东快递", 2, "JDVA", 11),
    ("邮政EMS", 2, "11", 11),
]
CARRIERS_EN = [("USPS", 45, "9400", 18), ("UPS", 25, "1Z", 16), ("FedEx", 15, "", 12), ("YunExpress", 15, "YT", 16)]

BUYER_REMARKS = [
    "请尽快发货，谢谢",
    "送人的，不要放发票和价格单",
    "能发顺丰吗？差价可以补",
    "多送几个试喝装吧",
    "生日礼物，麻烦帮忙写张卡片：生日快乐",
    "麻烦包装结实一点，上次盒子压坏了",
    "不要辣的",
    "白天不在家，请放快递柜",
    "公司下午茶用，需要开发票",
    "要新鲜日期的，谢谢",
    "老顾客了，有优惠吗",
    "请放驿站，谢谢",
    "孕妇可以喝吗？",
    "请在周五前送到",
]
SELLER_MEMOS = ["老客户，随单送试饮装", "已备注顺丰", "客户要求开票，已开", "漏发已补寄", "赠品已加"]
GIFTS = ["试饮装3包", "茶宠一个", "定制茶包5包", "小样坚果2袋"]

#: Tags and the share of eligible customers the shop bothered to tag.
TAG_NAMES = ["老客户", "爱喝绿茶", "爱喝红茶", "零食控", "送礼客户", "价格敏感", "企业采购", "需跟进"]

NOTES = [
    "喜欢口感清淡的绿茶，推荐过明前龙井",
    "要求只发顺丰，愿意补运费",
    "公司采购，每次要开增值税发票",
    "上次漏发一包芒果干，已补寄并道歉",
    "对坚果过敏，不要推荐坚果礼盒",
    "春节前会买礼盒送客户，记得提前联系",
    "喜欢尝新，新品上市可以优先通知",
    "收货地址是公司前台，工作日送达",
    "给家里老人买普洱，注意选熟茶",
    "曾因物流慢给过中评，后来追评改好",
    "不喜欢电话打扰，有事旺旺留言",
    "宝妈，关注零食的配料表和保质期",
]
